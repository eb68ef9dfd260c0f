#!/usr/bin/env python3
"""Regenerates samples/organizations.csv and its XLSX twin, samples/organizations.xlsx.

Deterministic (fixed seed). The XLSX uses typed cells (numbers, dates, booleans) so that it
exercises the XLSX reader. Needs openpyxl; only for regenerating the samples, not for tests.
"""
import csv
import datetime
import random
from pathlib import Path

HERE = Path(__file__).parent
random.seed(20261124)

FIRST = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent",
         "Hooli", "Vandelay", "Pied Piper", "Aperture", "Black Mesa", "Massive Dynamic", "Oceanic", "Dunder",
         "Gringotts", "Monarch", "Nakatomi", "Oscorp", "Prestige", "Sterling", "Virtucon", "Wernham", "Zorg",
         "Blue Sun", "Buy n Large", "Kerr-McGee"]
SECOND = ["Logistics", "Foods", "Analytics", "Robotics", "Holdings", "Labs", "Systems", "Pharma", "Energy",
          "Media", "Capital", "Textiles", "Aerospace", "Retail", "Health", "Mining", "Software", "Freight"]
SUFFIX = ["Ltd", "GmbH", "Inc", "SAS", "BV", "AB", "Oy", "SpA", "KK", "Pty"]
TIERS = ["free", "pro", "enterprise", "Pro", "Enterprise"]  # labels are accepted too
REGIONS = ["emea", "americas", "apac"]
PRODUCTS = ["support", "guide", "talk", "chat"]
OWNERS = ["Ana Silva", "Ben Okafor", "Chen Wei", "Dana Levi", "Emil Novak", "Fatima Zahra"]

HEADER = ["name", "external_id", "domain_names", "tags", "details", "notes", "shared_tickets",
          "organization_fields.tier", "organization_fields.region", "organization_fields.seats",
          "organization_fields.arr", "organization_fields.renewal_date", "organization_fields.partner",
          "organization_fields.account_code", "organization_fields.products", "organization_fields.crm_owner"]

rows = []
names = set()
while len(rows) < 300:
    name = f"{random.choice(FIRST)} {random.choice(SECOND)} {random.choice(SUFFIX)}"
    if name.lower() in names:
        continue
    names.add(name.lower())
    n = len(rows) + 1
    slug = name.lower().replace(" ", "-").replace(".", "")
    renewal = datetime.date(2026, 1, 1) + datetime.timedelta(days=random.randrange(0, 730))
    rows.append({
        "name": name,
        "external_id": f"CRM-{100000 + n * 7}",
        "domain_names": f"{slug}.example" + (f" {slug}.test" if n % 4 == 0 else ""),
        "tags": " ".join(random.sample(["key_account", "renewal_q1", "beta", "migrated", "vip"], k=random.randrange(0, 3))),
        "details": f"{random.randrange(2, 90)} Market Street, {random.choice(['Lisbon', 'Lagos', 'Osaka', 'Denver', 'Tartu'])}",
        "notes": "" if n % 3 else "Imported from the CRM",
        "shared_tickets": random.choice(["true", "false"]),
        "organization_fields.tier": random.choice(TIERS),
        "organization_fields.region": random.choice(REGIONS),
        "organization_fields.seats": random.randrange(1, 5000),
        "organization_fields.arr": round(random.uniform(1000, 250000), 2),
        "organization_fields.renewal_date": renewal,
        "organization_fields.partner": random.random() < 0.2,
        "organization_fields.account_code": f"{''.join(random.choices('ABCDEFGHJKLMNPQRSTUVWXYZ', k=3))}-{random.randrange(1000, 9999)}",
        "organization_fields.products": "|".join(sorted(random.sample(PRODUCTS, k=random.randrange(1, 4)))),
        "organization_fields.crm_owner": random.choice(OWNERS),
    })

# The deliberately invalid rows, each with one mistake a real export would have.
rows[16]["organization_fields.tier"] = "Gold"                     # not an option
rows[41]["organization_fields.seats"] = "twelve"                  # not a whole number
rows[77]["organization_fields.renewal_date"] = "2026-02-30"       # no such day
rows[120]["organization_fields.account_code"] = "abc-12"          # does not match ^[A-Z]{3}-[0-9]{4}$
rows[163]["name"] = "Northwind | Southwind Traders"               # '|' is not allowed in names
rows[201]["external_id"] = rows[200]["external_id"]               # duplicate external_id in the file
rows[250]["name"] = ""                                            # a new organization needs a name


def cell_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


with open(HERE / "organizations.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(HEADER)
    for r in rows:
        w.writerow([cell_text(r[h]) for h in HEADER])

try:
    import openpyxl
except ImportError:
    raise SystemExit("organizations.csv written; install openpyxl to write organizations.xlsx")

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Organizations"
ws.append(HEADER)
for r in rows:
    ws.append([r[h] for h in HEADER])
for row in ws.iter_rows(min_row=2, min_col=HEADER.index("organization_fields.renewal_date") + 1,
                        max_col=HEADER.index("organization_fields.renewal_date") + 1):
    for c in row:
        if isinstance(c.value, datetime.datetime):
            c.number_format = "yyyy-mm-dd"
wb.save(HERE / "organizations.xlsx")
print("wrote organizations.csv and organizations.xlsx")
