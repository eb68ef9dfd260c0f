//! The validate scenario: `zdbulk validate` on a million rows against the csv crate alone.

use std::io::Write as _;
use std::time::Instant;

use crate::run::summary;

/// `zdbulk validate` on 1,000,000 rows with 8 custom fields, against the csv crate alone.
pub fn validate_1m() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("big.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        writeln!(w, "name,external_id,notes,organization_fields.tier,organization_fields.region,organization_fields.seats,\
organization_fields.arr,organization_fields.renewal_date,organization_fields.partner,organization_fields.account_code,organization_fields.products").unwrap();
        for i in 0..1_000_000usize {
            writeln!(
                w,
                "Org {i:07} Ltd,ext-{i},Some notes about org {i},{},{},{},{}.50,2027-{:02}-{:02},{},ABC-{:04},support|talk",
                ["free", "pro", "Enterprise"][i % 3],
                ["emea", "americas", "apac"][i % 3],
                i % 5000,
                i % 100_000,
                i % 12 + 1,
                i % 28 + 1,
                i % 2 == 0,
                i % 10_000,
            )
            .unwrap();
        }
    }
    let defs = tmp.path().join("fields.csv");
    std::fs::write(
        &defs,
        "key,title,type,regexp_for_validation,tag,options\n\
         tier,Tier,dropdown,,,Free=free; Pro=pro; Enterprise=enterprise\n\
         region,Region,dropdown,,,EMEA=emea; Americas=americas; APAC=apac\n\
         seats,Seats,integer,,,\narr,ARR,decimal,,,\nrenewal_date,Renewal,date,,,\n\
         partner,Partner,checkbox,,partner_org,\naccount_code,Code,regexp,^[A-Z]{3}-[0-9]{4}$,,\n\
         products,Products,multiselect,,,Support=support; Guide=guide; Talk=talk; Chat=chat\n",
    )
    .unwrap();
    let size_mb = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
    // Each measure is the median of five runs: a 2-core VM varies by a tenth of a second.
    let mut fields = 0usize;
    let csv_secs = median_secs(|| {
        let mut reader = csv::Reader::from_path(&file).unwrap();
        fields = reader.records().map(|r| r.unwrap().len()).sum();
    });
    let mut cells = 0usize;
    let input_secs = median_secs(|| {
        let mut input = zdbulk::input::open_input(&file, None).unwrap();
        let mut row = zdbulk::input::Row::default();
        cells = 0;
        while input.read_row(&mut row).unwrap() {
            cells += row.cells.len();
        }
    });
    // zdbulk validate in a process of its own, so its peak memory is its own.
    let run_dir = tmp.path().join("run");
    let mut out = None;
    let secs = median_secs(|| {
        let _ = std::fs::remove_dir_all(&run_dir);
        out = Some(
            std::process::Command::new(std::env::current_exe().unwrap())
                .env("ZDBULK_BENCH_CHILD", "validate")
                .args([file.to_str().unwrap(), defs.to_str().unwrap(), run_dir.to_str().unwrap()])
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    let child = String::from_utf8_lossy(&out.stdout);
    let s = summary(&run_dir);
    println!(
        "validate-1m: {size_mb:.0} MB file, {} rows, {} valid; csv crate alone {csv_secs:.2}s ({fields} fields); \
         zdbulk's reader alone {input_secs:.2}s ({cells} cells); zdbulk validate {secs:.2}s = {:.2}x the csv crate (medians of 5 runs); {}",
        s["rows"],
        s["counts"]["valid"],
        secs / csv_secs,
        child.trim()
    );
}

/// The median wall time of five runs of `f`, in seconds.
fn median_secs(mut f: impl FnMut()) -> f64 {
    let mut secs: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    secs[2]
}
