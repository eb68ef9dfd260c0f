#!/usr/bin/env python3
"""Regenerates the sample spreadsheets and their XLSX twins:

  samples/organizations.csv, samples/organizations.xlsx  -- 300 organizations
  samples/users.csv,         samples/users.xlsx          -- 300 people in those organizations

Deterministic (fixed seeds, and the XLSX files carry a fixed creation time and fixed zip entry
times), so running it again gives byte-identical files. The XLSX files use typed cells
(numbers, dates, booleans) so that they exercise the XLSX reader; external ids and phone
numbers stay text cells. Needs openpyxl (3.1.5 wrote the committed files); only for
regenerating the samples, not for tests.

Deliberately invalid rows (row numbers as the user sees them, header = row 1):

organizations.csv / .xlsx (each with one mistake a real export would have):
  row  18  organization_fields.tier = "Gold"                      not an option
  row  43  organization_fields.seats = "twelve"                   not a whole number
  row  79  organization_fields.renewal_date = "2026-02-30"        no such day
  row 122  organization_fields.account_code = "abc-12"            does not match ^[A-Z]{3}-[0-9]{4}$
  row 165  name = "Northwind | Southwind Traders"                 '|' is not allowed in names
  row 203  external_id = "CRM-101407"                             duplicate of row 202's external_id
  row 252  name = ""                                              a new organization needs a name

users.csv / .xlsx (people reference only organizations that import cleanly -- never rows
18, 43, 79, 122, 165, 202, 203 or 252 above -- except in these rows):
  row  25  organization = "CRM-100008"                            no organization has this external_id or name
                                                                  (a typo of CRM-100007, Zorg Labs Ltd)
  row  60  email = "Elena.Lefevre@oscorp-robotics-ab.example"     same address as row 14's, differing only in case
  row  99  external_id = "USR-10018"                              same external_id as row 19 (another person)
  row 133  email = "amelia.walsh.example.com"                     not an e-mail address (no '@')
  row 178  role = "manager"                                       not a role (end-user, agent, admin)
  row 216  name, email, external_id all empty                     nothing to name or find the user by
  row 250  organizations = "CRM-100021|Nakatomi Freight KK"       the second organization does not exist
  row 285  organization = "CRM-100294"                            organizations row 43 (seats "twelve"),
                                                                  which never gets created
The planted cells are asserted below, so this list cannot drift from the files.
"""
import csv
import datetime
import random
import unicodedata
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
random.seed(20261124)

# The time written into the XLSX files (document properties and zip entries): the moment the
# organizations sample was first generated, so that regenerating it gives the same bytes.
XLSX_TIME = datetime.datetime(2026, 11, 24, 4, 20, 46)

# ---------------------------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------------------------

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

# Organizations a user may reference: all but the invalid rows above (and the first of the two
# rows sharing an external_id, which a reader may reject along with the second).
BAD_ORG_INDEXES = {16, 41, 77, 120, 163, 200, 201, 250}
good_orgs = [o for i, o in enumerate(rows) if i not in BAD_ORG_INDEXES]

# ---------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------

# Its own generator, so that the organizations above never change when this part does.
urand = random.Random(20261125)

GIVEN = ["Amelia", "Oliver", "Sofia", "Lukas", "Mia", "Noah", "Hannah", "Mateo", "Yuki", "Haruto", "Chiara",
         "Lorenzo", "Aisha", "Kwame", "Ingrid", "Lars", "Priya", "Arjun", "Camille", "Louis", "Zoë", "José",
         "Björn", "Siobhán", "Nadia", "Omar", "Elena", "Mikael", "Grace", "Tomás", "Fatou", "Chinedu", "Leilani",
         "Mei", "Wei", "Olga", "Dmitri", "Aleksandra", "Jakub", "Emma", "Liam", "Isabella", "Ethan", "Chloé",
         "Renée", "Søren", "Ana", "João", "Beatriz", "Kenji", "Sakura", "Maren", "Rafael", "Thandiwe", "Kofi"]
FAMILY = ["Smith", "Müller", "García", "Rossi", "Nakamura", "Okafor", "Johansson", "Dubois", "Kowalski", "Novak",
          "Silva", "O'Brien", "Patel", "Kim", "Nguyen", "Schmidt", "Jensen", "van der Berg", "Fernández", "Tanaka",
          "Mensah", "Andersson", "Lefèvre", "Costa", "Horvat", "Ivanova", "MacLeod", "Haddad", "Suzuki",
          "Lindqvist", "Moreau", "Ferreira", "Becker", "Chen", "Walsh", "Ahmed", "Kaur", "Virtanen", "De Luca",
          "Mbeki", "Hoffmann", "Sato", "Øster", "Łukasik"]

# (time_zone, locale, country calling code); locales are ones the sandbox knows.
PLACES = [
    ("Pacific Time (US & Canada)", "en-US", "+1"),
    ("Eastern Time (US & Canada)", "en-US", "+1"),
    ("America/Chicago", "en-US", "+1"),
    ("Europe/London", "en-US", "+44"),
    ("Europe/Berlin", "de", "+49"),
    ("Europe/Vienna", "de", "+43"),
    ("Europe/Paris", "fr", "+33"),
    ("Europe/Madrid", "es", "+34"),
    ("America/Mexico_City", "es", "+52"),
    ("America/Sao_Paulo", "pt-BR", "+55"),
    ("Asia/Tokyo", "ja", "+81"),
]
USER_TAGS = ["newsletter", "beta_tester", "champion", "billing_contact", "churn_risk", "webinar_2026"]
# Department is a dropdown: its values, and now and then a label (labels are accepted too;
# "Support" is the label of the value "support_dept").
DEPARTMENTS = ["sales", "engineering", "finance", "support_dept"] * 4 + ["Sales", "Support"]
JOB_TITLES = ["Procurement Manager", "IT Administrator", "Head of Support", "Office Manager", "Developer",
              "Finance Controller", "Account Executive", "Operations Lead", "CTO", "Support Engineer",
              "Buyer", "Data Analyst", "VP, Operations", "Team Lead \u2013 Billing"]

# user_fields keys: exactly the ones the sandbox's sample seed defines (src/sandbox/sample_seed.json).
USER_FIELDS = ["department", "employee_number", "start_date", "vip", "badge_code", "job_title"]
UHEADER = (["name", "email", "external_id", "role", "phone", "organization", "organizations", "tags",
            "time_zone", "locale", "verified"] + [f"user_fields.{k}" for k in USER_FIELDS])
TEXT_COLUMNS = {"external_id", "phone"}  # kept as text cells in the XLSX

ASCII_FOLD = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "'": "", " ": ""})


def ascii_slug(s):
    s = unicodedata.normalize("NFKD", s.translate(ASCII_FOLD))
    return "".join(c for c in s if c.isascii() and c.isalnum()).lower()


def phone_number(code):
    if code == "+1":  # the 555-0100..0199 range is reserved for fiction
        return f"+1{urand.choice(['206', '312', '415', '617', '646', '720'])}5550{urand.randrange(100, 200)}"
    if code == "+44":  # Ofcom's drama range 07700 900000..900999
        return f"+447700900{urand.randrange(0, 1000):03d}"
    return f"{code}{urand.randrange(10**8, 10**9)}"  # nine more digits


def case_variant(email):
    """The same address as people type it: First.Last@domain."""
    local, domain = email.split("@")
    return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain


def org_ref(org):
    """A primary organization reference: mostly its external_id, sometimes its exact name."""
    return org["name"] if urand.random() < 0.2 else org["external_id"]


def org_domain(org):
    domains = org["domain_names"].split()
    return domains[-1] if len(domains) > 1 and urand.random() < 0.3 else domains[0]


people = []
emails = set()
ext_ids = set()
N_USERS = 300
PLANTED_INDEXES = {12, 17, 23, 58, 97, 131, 176, 214, 248, 283}  # the mistakes and the rows they copy
ordinary = sorted(set(range(N_USERS)) - PLANTED_INDEXES)
AGENT_INDEXES = set(urand.sample(ordinary, 9))
NO_EMAIL_INDEXES = set(urand.sample(sorted(set(ordinary) - AGENT_INDEXES), 10))
for i in range(N_USERS):
    given, family = urand.choice(GIVEN), urand.choice(FAMILY)
    name = f"{given} {family}"
    agent = i in AGENT_INDEXES
    org = None if agent or (urand.random() < 0.04 and i not in PLANTED_INDEXES) else urand.choice(good_orgs)
    tz, locale, code = urand.choice(PLACES)

    email = ""
    if i not in NO_EMAIL_INDEXES:
        if agent:
            domain = "example.com"
        elif org is None:
            domain = urand.choice(["example.com", "example.org"])
        else:
            domain = org_domain(org)
        g, f = ascii_slug(given), ascii_slug(family)
        local = urand.choice([f"{g}.{f}", f"{g}.{f}", f"{g}.{f}", f"{g[0]}.{f}", f"{g}{f}", f"{g}_{f}"])
        candidate, k = f"{local}@{domain}", 2
        while candidate.lower() in emails:
            candidate, k = f"{local}{k}@{domain}", k + 1
        email = candidate
        if urand.random() < 0.06 and i not in PLANTED_INDEXES:  # exports keep whatever case people typed
            email = case_variant(email)
        emails.add(email.lower())

    roll = urand.random()
    if roll < 0.82 or i in PLANTED_INDEXES:
        ext = f"USR-{10000 + i + 1}"
    elif roll < 0.92:
        ext = f"{urand.randrange(1, 99999):07d}"  # an HR number with leading zeros: must stay text
    else:
        ext = ""
    if ext:
        assert ext not in ext_ids
        ext_ids.add(ext)

    memberships = ""
    if org is not None and i not in PLANTED_INDEXES and urand.random() < 0.09:
        others = urand.sample([o for o in good_orgs if o is not org], urand.randrange(1, 3))
        listed = ([org] + others) if urand.random() < 0.5 else others
        if len(listed) == 1 and urand.random() < 0.5:
            listed = [org] + others
        memberships = "|".join(o["name"] if urand.random() < 0.15 else o["external_id"] for o in listed)

    fields = {
        "department": urand.choice(DEPARTMENTS) if urand.random() < 0.7 else "",
        "employee_number": urand.randrange(100, 99999) if urand.random() < 0.5 else "",
        "start_date": (datetime.date(2015, 1, 1) + datetime.timedelta(days=urand.randrange(0, 4000))
                       if urand.random() < 0.5 else ""),
        "vip": (urand.random() < 0.1) if urand.random() < 0.6 else "",
        "badge_code": f"B{urand.randrange(0, 100000):05d}" if urand.random() < 0.4 else "",
        "job_title": urand.choice(JOB_TITLES) if urand.random() < 0.7 else "",
    }
    person = {
        "name": name,
        "email": email,
        "external_id": ext,
        "role": "agent" if agent else "end-user",
        "phone": phone_number(code) if (not email or urand.random() < 0.4) else "",
        "organization": org_ref(org) if org is not None else "",
        "organizations": memberships,
        "tags": " ".join(urand.sample(USER_TAGS, k=urand.choice([0, 0, 1, 1, 2]))),
        "time_zone": tz if urand.random() < 0.85 else "",
        "locale": locale if urand.random() < 0.85 else "",
        "verified": True if email else "",
    }
    person.update({f"user_fields.{k}": v for k, v in fields.items()})
    people.append(person)


def row_of(index):
    """The row number the user sees (header = row 1)."""
    return index + 2


def plant(index, **cells):
    people[index].update(cells)


def email_at(index, org):
    """Row `index`'s e-mail address moved to `org`'s first domain."""
    return people[index]["email"].split("@")[0] + "@" + org["domain_names"].split()[0]


# The deliberately invalid rows (listed in the docstring; checked below).
all_org_refs = {o["external_id"] for o in rows} | {o["name"] for o in rows}
plant(23, organization="CRM-100008", email=email_at(23, rows[0]))  # no such org: a typo of rows[0]'s id
plant(58, name=people[12]["name"], email=case_variant(people[12]["email"]),  # duplicate e-mail,
      organization=people[12]["organization"])                                # differing in case
plant(97, external_id=people[17]["external_id"])                  # duplicate external_id
plant(131, email="amelia.walsh.example.com", name="Amelia Walsh")  # invalid e-mail syntax
plant(176, role="manager")                                        # not a role
plant(214, name="", email="", external_id="", phone="", verified="")  # nothing identifies it
plant(248, organizations=f"{rows[2]['external_id']}|Nakatomi Freight KK")  # unknown org in the list
plant(283, organization=rows[41]["external_id"], email=email_at(283, rows[41]))  # its org's row is invalid

PLANTED = {
    25: ("organization", "CRM-100008"),
    60: ("email", "Elena.Lefevre@oscorp-robotics-ab.example"),
    99: ("external_id", "USR-10018"),
    133: ("email", "amelia.walsh.example.com"),
    178: ("role", "manager"),
    216: ("name", ""),
    250: ("organizations", "CRM-100021|Nakatomi Freight KK"),
    285: ("organization", "CRM-100294"),
}
for row, (column, value) in PLANTED.items():
    assert people[row - 2][column] == value, (row, column, people[row - 2][column])
assert "CRM-100008" not in all_org_refs and "Nakatomi Freight KK" not in all_org_refs
assert people[58]["email"].lower() == people[12]["email"].lower() and people[58]["email"] != people[12]["email"]
assert people[97]["external_id"] == people[17]["external_id"] != ""
assert not (people[214]["name"] or people[214]["email"] or people[214]["external_id"] or people[214]["phone"])
assert rows[41]["external_id"] == "CRM-100294"
# Every other row references only organizations that import cleanly.
good_refs = {o["external_id"] for o in good_orgs} | {o["name"] for o in good_orgs}
for i, p in enumerate(people):
    if row_of(i) in (25, 250, 285):
        continue
    refs = ([p["organization"]] if p["organization"] else []) + (p["organizations"].split("|") if p["organizations"] else [])
    assert all(r in good_refs for r in refs), (row_of(i), refs)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

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

with open(HERE / "users.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(UHEADER)
    for p in people:
        w.writerow([cell_text(p[h]) for h in UHEADER])

try:
    import openpyxl
    from openpyxl.writer.excel import ExcelWriter
except ImportError:
    raise SystemExit("organizations.csv and users.csv written; install openpyxl to write the XLSX files")


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry XLSX_TIME instead of the current time."""

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=XLSX_TIME.timetuple()[:6])
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename, arcname=None, *args, **kwargs):  # openpyxl writes sheets this way
        info = zipfile.ZipInfo.from_file(filename, arcname)
        info.date_time = XLSX_TIME.timetuple()[:6]
        info.compress_type = self.compression
        with open(filename, "rb") as f:
            super().writestr(info, f.read())


def save_reproducibly(wb, path):
    """openpyxl's save_workbook, with XLSX_TIME for the document's and the entries' times."""
    wb.properties.created = XLSX_TIME
    wb.properties.modified = XLSX_TIME
    ExcelWriter(wb, _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()


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
save_reproducibly(wb, HERE / "organizations.xlsx")

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Users"
ws.append(UHEADER)
for p in people:
    ws.append([None if p[h] == "" else p[h] for h in UHEADER])
for col, h in enumerate(UHEADER, start=1):
    for (c,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
        if h in TEXT_COLUMNS and c.value is not None:
            assert isinstance(c.value, str) and c.data_type == "s", (c.coordinate, c.value)
            c.number_format = "@"
        elif isinstance(c.value, (datetime.date, datetime.datetime)):
            c.number_format = "yyyy-mm-dd"
save_reproducibly(wb, HERE / "users.xlsx")
print("wrote organizations.csv, organizations.xlsx, users.csv and users.xlsx")
