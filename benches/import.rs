//! Throughput and cost benchmarks of `zdbulk import` and `zdbulk validate` against the
//! sandbox at `--time-scale 1` (the client's timers do not scale, so only real time gives
//! real figures). Run all with `cargo bench --bench import`, or one with
//! `cargo bench --bench import -- create-10s` (scenarios: create-10s, create-1s, upsert,
//! users-create-10s, users-create-1s, users-upsert, users-memberships, validate-1m, and, not
//! run by default for they take long, memory and memory-users). Figures go to stdout;
//! `docs/performance.md` records them.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use clap::Parser as _;
use serde_json::Value;
use zdbulk_sandbox::{self as sandbox, SandboxConfig, SAMPLE_SEED};

/// A sandbox on its own thread and runtime, as a separate server would be.
struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(config: SandboxConfig) -> Server {
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
                let handle = sandbox::start(config, addr).await.unwrap();
                url_tx.send(handle.url.clone()).unwrap();
                let _ = stop_rx.await;
                handle.shutdown().await.unwrap();
            });
        });
        Server { url: url_rx.recv().unwrap(), stop: Some(stop_tx), thread: Some(thread) }
    }

    fn stats(&self) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            reqwest::get(format!("{}/sandbox/stats", self.url)).await.unwrap().json().await.unwrap()
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let _ = self.thread.take().map(|t| t.join());
    }
}

fn write_orgs(path: &Path, n: usize) {
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

fn zdbulk(args: &[&str]) -> u8 {
    let cli = zdbulk::cli::Cli::parse_from(std::iter::once("zdbulk").chain(args.iter().copied()));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match rt.block_on(zdbulk::run(cli)) {
        Ok(status) => status.code(),
        Err(e) => {
            eprintln!("error: {e:#}");
            zdbulk::error::print_error(&e).code()
        }
    }
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// Six custom user fields of the sample seed, and the people who fill them.
const USER_COLUMNS: &str =
    "name,email,external_id,verified,user_fields.department,user_fields.employee_number,\
user_fields.start_date,user_fields.vip,user_fields.badge_code,user_fields.job_title";

fn user_cells(i: usize) -> String {
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

fn write_users(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{USER_COLUMNS}").unwrap();
    for i in 0..n {
        writeln!(w, "{}", user_cells(i)).unwrap();
    }
}

/// Organizations a membership scenario's people belong to, created by the seed.
const MEMBER_ORGS: usize = 20;

/// The sample seed plus `MEMBER_ORGS` organizations (`Member org N`, external id `mo-N`).
fn seed_with_orgs() -> String {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let orgs: Vec<Value> = (0..MEMBER_ORGS)
        .map(|i| serde_json::json!({"name": format!("Member org {i}"), "external_id": format!("mo-{i}")}))
        .collect();
    seed["organizations"] = Value::Array(orgs);
    seed.to_string()
}

/// People in one organization each (by external id), and a third of them in two more (one by
/// external id, one by name).
fn write_members(path: &Path, n: usize) {
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

/// What one import scenario imports.
struct Scenario<'a> {
    name: &'a str,
    resource: &'a str,
    write: fn(&Path, usize),
    seed: String,
}

impl Scenario<'_> {
    fn orgs(name: &str) -> Scenario<'_> {
        Scenario { name, resource: "organizations", write: write_orgs, seed: SAMPLE_SEED.into() }
    }

    fn users(name: &str) -> Scenario<'_> {
        Scenario { name, resource: "users", write: write_users, seed: SAMPLE_SEED.into() }
    }
}

/// One import scenario: rows a minute against the bound, requests per 100 rows.
fn import(scenario: Scenario, config: SandboxConfig, rows: usize, mode: &str, job_secs: f64) {
    let name = scenario.name;
    let rate = config.rate_limit as f64;
    let jobs = config.job_limit as f64;
    let server = Server::start(SandboxConfig { seed_json: Some(scenario.seed), ..config });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("input.csv");
    (scenario.write)(&file, rows);
    let run_dir = tmp.path().join("run");
    // OAuth client credentials, as a production run would use (the token is minted once).
    std::env::set_var("ZENDESK_CLIENT_ID", "zdbulk-sandbox");
    std::env::set_var("ZENDESK_CLIENT_SECRET", "sandbox-secret");
    let started = Instant::now();
    let code = zdbulk(&[
        "import",
        scenario.resource,
        file.to_str().unwrap(),
        "--url",
        &server.url,
        "--mode",
        mode,
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--quiet",
    ]);
    let secs = started.elapsed().as_secs_f64();
    let s = summary(&run_dir);
    let stats = server.stats();
    let bound = (100.0 * rate).min(jobs * 100.0 * 60.0 / job_secs);
    let per_min = rows as f64 / secs * 60.0;
    let requests = stats["total_requests"].as_f64().unwrap_or(0.0);
    let polls = &stats["requests"]["GET /api/v2/job_statuses/show_many"]["200"];
    println!(
        "{name}: exit {code}, {rows} rows in {secs:.1}s = {per_min:.0} rows/min; bound {bound:.0} rows/min \
         => {:.1}% of the bound; {requests} requests = {:.3} per 100 rows ({polls} polls); 429s {}; peak jobs {}; created {}, updated {}, unchanged {}",
        100.0 * per_min / bound,
        requests / (rows as f64 / 100.0),
        stats["rate_limited"],
        stats["peak_jobs_in_flight"],
        s["counts"]["created"],
        s["counts"]["updated"],
        s["counts"]["unchanged"],
    );
    println!("{name}: requests by endpoint {}", stats["requests"]);
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `zdbulk validate` on 1,000,000 rows with 8 custom fields, against the csv crate alone.
fn validate_1m() {
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

/// Organizations with nine of the sample seed's custom fields (two dropdowns, integer,
/// decimal, date, checkbox, regexp, multiselect, text).
fn write_orgs9(path: &Path, n: usize) {
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

/// The sample seed plus three user fields, nine in all.
fn seed_with_nine_user_fields() -> String {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let extra = serde_json::json!([
        {"key": "cost_center", "title": "Cost center", "type": "text"},
        {"key": "office", "title": "Office", "type": "dropdown", "custom_field_options": [
            {"name": "Paris", "value": "paris"}, {"name": "Lagos", "value": "lagos"},
            {"name": "Osaka", "value": "osaka"}]},
        {"key": "contract_end", "title": "Contract end", "type": "date"}
    ]);
    seed["user_fields"].as_array_mut().unwrap().extend(extra.as_array().unwrap().iter().cloned());
    seed.to_string()
}

/// People with nine custom fields: the sample seed's six and [`seed_with_nine_user_fields`]'s
/// three.
fn write_users9(path: &Path, n: usize) {
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

/// Peak memory of `zdbulk import` (upsert, nine custom fields) of `sizes` rows into a fast
/// sandbox: jobs done at once and a budget of a million requests a minute, so zdbulk's own
/// work binds. zdbulk runs in a child process, so its peak is its own and not the sandbox's.
fn memory(name: &str, resource: &str, sizes: &[usize]) {
    for &rows in sizes {
        let seed =
            if resource == "users" { seed_with_nine_user_fields() } else { SAMPLE_SEED.into() };
        let server = Server::start(SandboxConfig {
            rate_limit: 1_000_000,
            job_delay_ms: 0,
            job_item_ms: 0,
            seed_json: Some(seed),
            ..SandboxConfig::default()
        });
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("input.csv");
        if resource == "users" {
            write_users9(&file, rows);
        } else {
            write_orgs9(&file, rows);
        }
        let size_mb = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
        let run_dir = tmp.path().join("run");
        let started = Instant::now();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("ZDBULK_BENCH_CHILD", "import")
            .env("ZENDESK_CLIENT_ID", "zdbulk-sandbox")
            .env("ZENDESK_CLIENT_SECRET", "sandbox-secret")
            .args([resource, file.to_str().unwrap(), &server.url, run_dir.to_str().unwrap()])
            .output()
            .unwrap();
        let secs = started.elapsed().as_secs_f64();
        let child = String::from_utf8_lossy(&out.stdout);
        let s = summary(&run_dir);
        let stats = server.stats();
        let requests = stats["total_requests"].as_f64().unwrap_or(0.0);
        let artifacts: u64 = std::fs::read_dir(&run_dir)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.metadata().ok()?.len()))
            .sum();
        println!(
            "{name}-{rows}: {size_mb:.0} MB file; {} in {secs:.1}s = {:.0} rows/min; {requests} requests = {:.3} per 100 rows; \
             created {}, failed {}; run directory {:.0} MB{}",
            child.trim(),
            rows as f64 / secs * 60.0,
            requests / (rows as f64 / 100.0),
            s["counts"]["created"],
            s["counts"]["failed"],
            artifacts as f64 / 1e6,
            if out.status.success() {
                String::new()
            } else {
                format!("; child failed: {}", String::from_utf8_lossy(&out.stderr))
            }
        );
    }
}

/// The child process of `memory`: runs `zdbulk import` and prints its peak memory.
fn import_child(args: &[String]) {
    let code = zdbulk(&[
        "import",
        &args[0],
        &args[1],
        "--url",
        &args[2],
        "--run-dir",
        &args[3],
        "--quiet",
    ]);
    println!("exit {code}, peak RSS {:.1} MB", peak_rss_mb());
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

/// The child process of `validate-1m`: runs `zdbulk validate` and prints its peak memory.
fn validate_child(args: &[String]) {
    let code = zdbulk(&[
        "validate",
        "organizations",
        &args[0],
        "--fields",
        &args[1],
        "--run-dir",
        &args[2],
        "--quiet",
    ]);
    println!("exit {code}, peak RSS {:.0} MB", peak_rss_mb());
}

fn main() {
    let child = std::env::var("ZDBULK_BENCH_CHILD").unwrap_or_default();
    if !child.is_empty() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        return match child.as_str() {
            "validate" => validate_child(&args),
            _ => import_child(&args),
        };
    }
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    // Long: only when named.
    let named = |name: &str| wanted.iter().any(|w| w == name);
    // 1 s jobs: 200 ms queued + 100 × 8 ms; the request budget binds.
    let fast_jobs = || SandboxConfig { job_delay_ms: 200, job_item_ms: 8, ..Default::default() };
    if run("create-10s") {
        // Zendesk-like jobs: 2 s queued + 100 × 80 ms = 10 s; the job window binds.
        import(Scenario::orgs("create-10s"), SandboxConfig::default(), 45_000, "create", 10.0);
    }
    if run("create-1s") {
        import(Scenario::orgs("create-1s"), fast_jobs(), 140_000, "create", 1.0);
    }
    if run("upsert") {
        import(Scenario::orgs("upsert"), SandboxConfig::default(), 45_000, "upsert", 10.0);
    }
    if run("users-create-10s") {
        let scenario = Scenario::users("users-create-10s");
        import(scenario, SandboxConfig::default(), 45_000, "create", 10.0);
    }
    if run("users-create-1s") {
        import(Scenario::users("users-create-1s"), fast_jobs(), 140_000, "create", 1.0);
    }
    if run("users-upsert") {
        import(Scenario::users("users-upsert"), SandboxConfig::default(), 45_000, "upsert", 10.0);
    }
    if run("users-memberships") {
        // As users-create-10s, each person in one of 20 organizations and a third of them in
        // two more: memberships/create_many jobs after the users, and organization lookups.
        let scenario = Scenario {
            name: "users-memberships",
            resource: "users",
            write: write_members,
            seed: seed_with_orgs(),
        };
        import(scenario, SandboxConfig::default(), 45_000, "create", 10.0);
    }
    if run("validate-1m") {
        validate_1m();
    }
    if named("memory") {
        memory("memory", "organizations", &[50_000, 200_000, 1_000_000]);
    }
    if named("memory-users") {
        memory("memory-users", "users", &[50_000, 200_000, 1_000_000]);
    }
    // Sizes one at a time: `memory-50000`, `memory-users-200000`.
    for w in &wanted {
        let (name, resource, n) = match w.strip_prefix("memory-users-") {
            Some(n) => ("memory-users", "users", n),
            None => match w.strip_prefix("memory-") {
                Some(n) => ("memory", "organizations", n),
                None => continue,
            },
        };
        if let Ok(n) = n.parse() {
            memory(name, resource, &[n]);
        }
    }
}
