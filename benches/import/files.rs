//! The input files the import scenarios generate: organizations and people, numbered rows.

use std::io::Write as _;
use std::path::Path;

use crate::seeds::MEMBER_ORGS;

/// Organizations with a name, external id, notes and two of the sample seed's fields.
pub fn write_orgs(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "name,external_id,notes,organization_fields.tier,organization_fields.seats")
        .unwrap();
    for i in 0..n {
        writeln!(
            w,
            "Bench org {i:07},bench-{i},n,{},{}",
            ["free", "pro", "enterprise"][i % 3],
            i % 900
        )
        .unwrap();
    }
}

/// Six custom user fields of the sample seed, and the people who fill them.
pub const USER_COLUMNS: &str =
    "name,email,external_id,verified,user_fields.department,user_fields.employee_number,\
user_fields.start_date,user_fields.vip,user_fields.badge_code,user_fields.job_title";

/// The cells of person `i` under [`USER_COLUMNS`].
pub fn user_cells(i: usize) -> String {
    format!(
        "Bench Person {i:07},person{i}@bench.example,bench-user-{i},true,{},{},2023-{:02}-{:02},{},B{:05},{}",
        ["sales", "engineering", "finance", "support_dept"][i % 4],
        10_000 + i,
        i % 12 + 1,
        i % 28 + 1,
        i % 7 == 0,
        i % 100_000,
        ["Engineer", "Account Manager", "Analyst"][i % 3],
    )
}

/// People with the six custom fields of [`USER_COLUMNS`], no organization.
pub fn write_users(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{USER_COLUMNS}").unwrap();
    for i in 0..n {
        writeln!(w, "{}", user_cells(i)).unwrap();
    }
}

/// The people of [`write_users`], each with a job title they do not have yet, so that an
/// update changes every row.
pub fn write_users_retitled(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{USER_COLUMNS}").unwrap();
    for i in 0..n {
        let cells = user_cells(i);
        let (before_title, _) = cells.rsplit_once(',').unwrap();
        writeln!(w, "{before_title},{}", ["Team Lead", "Director", "Consultant"][i % 3]).unwrap();
    }
}

/// People in one organization each (by external id), and a third of them in two more (one by
/// external id, one by name).
pub fn write_members(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{USER_COLUMNS},organization,organizations").unwrap();
    for i in 0..n {
        let extra = if i % 3 == 0 {
            format!("mo-{}|Member org {}", (i + 1) % MEMBER_ORGS, (i + 2) % MEMBER_ORGS)
        } else {
            String::new()
        };
        writeln!(w, "{},mo-{},{extra}", user_cells(i), i % MEMBER_ORGS).unwrap();
    }
}

/// Organizations with nine of the sample seed's custom fields (two dropdowns, integer,
/// decimal, date, checkbox, regexp, multiselect, text).
pub fn write_orgs9(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "name,external_id,notes,organization_fields.tier,organization_fields.region,organization_fields.seats,\
organization_fields.arr,organization_fields.renewal_date,organization_fields.partner,organization_fields.account_code,\
organization_fields.products,organization_fields.crm_owner").unwrap();
    for i in 0..n {
        writeln!(
            w,
            "Org {i:07} Ltd,ext-{i},Some notes about org {i},{},{},{},{}.50,2027-{:02}-{:02},{},ABC-{:04},support|talk,owner{}@bench.example",
            ["free", "pro", "enterprise"][i % 3],
            ["emea", "americas", "apac"][i % 3],
            i % 5000,
            i % 100_000,
            i % 12 + 1,
            i % 28 + 1,
            i % 2 == 0,
            i % 10_000,
            i % 50,
        )
        .unwrap();
    }
}

/// People with nine custom fields: the sample seed's six and
/// [`crate::seeds::seed_with_nine_user_fields`]'s three.
pub fn write_users9(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        w,
        "{USER_COLUMNS},user_fields.cost_center,user_fields.office,user_fields.contract_end"
    )
    .unwrap();
    for i in 0..n {
        writeln!(
            w,
            "{},CC-{:04},{},2028-{:02}-{:02}",
            user_cells(i),
            i % 2000,
            ["paris", "lagos", "osaka"][i % 3],
            i % 12 + 1,
            i % 28 + 1
        )
        .unwrap();
    }
}
