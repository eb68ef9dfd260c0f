//! Soak test of `zdbulk resume` (docs/reliability.md, "Soak"): a large organizations file is
//! imported against an in-process sandbox that injects faults, and the run is stopped again and
//! again, with SIGKILL and with Ctrl-C (SIGINT), each time at a random point, and resumed,
//! until it ends. Then the report and the account are compared with the file:
//!
//! ```text
//! rows lost 0, duplicates 0, rows accounted for 100 %
//! ```
//!
//! Not run in CI (it takes minutes). Unix only (signals). Run it on a release build:
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example soak -- --rows 100000 --kills 20 --interrupts 20 --seed 1
//! ```
//!
//! The `zdbulk` binary is taken from beside this example's executable (`target/release/`)
//! unless `--bin PATH` names one. Exits 1 when a row is lost, doubled or unaccounted for.

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;
use zdbulk_sandbox::{FaultSpec, SandboxConfig, SAMPLE_SEED};

/// Soak `zdbulk resume`: many stops and resumes of one import against a faulty sandbox.
#[derive(Parser, Debug)]
struct Args {
    /// Organizations in the file.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Stops by SIGKILL.
    #[arg(long, default_value_t = 20)]
    kills: usize,
    /// Stops by Ctrl-C (SIGINT).
    #[arg(long, default_value_t = 20)]
    interrupts: usize,
    /// Seed of the stop points and of the sandbox's faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The sandbox's faults.
    #[arg(long, default_value = "5xx=0.02,drop=0.02,slow=0.002,job-fail=0.02")]
    faults: String,
    /// The zdbulk binary (default: beside this example's executable).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where the file and the run go (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    Kill,
    Interrupt,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the runtime")?;
    let ok = runtime.block_on(soak(args))?;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

async fn soak(args: Args) -> anyhow::Result<bool> {
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => {
            let exe = std::env::current_exe().context("failed to find this executable")?;
            let dir = exe.parent().and_then(Path::parent).context("no target directory")?;
            dir.join(format!("zdbulk{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if !bin.is_file() {
        bail!("{} does not exist: run `cargo build --release` first, or give --bin", bin.display());
    }
    let temp = tempfile::tempdir().context("failed to make a temporary directory")?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to make {}", dir.display()))?;

    let faults = FaultSpec::parse(&args.faults).map_err(anyhow::Error::msg)?;
    let config = SandboxConfig {
        seed_json: Some(SAMPLE_SEED.to_string()),
        job_delay_ms: 200,
        job_item_ms: 1,
        rate_limit: 1_000_000,
        faults,
        fault_seed: args.seed,
        ..SandboxConfig::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse()?;
    let sandbox = zdbulk_sandbox::start(config, addr).await?;
    let url = sandbox.url.clone();

    let file = dir.join("orgs.csv");
    write_file(&file, args.rows)?;
    let run_dir = dir.join("run");
    let batches = args.rows.div_ceil(100).max(1);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut stops: Vec<Stop> = std::iter::repeat_n(Stop::Kill, args.kills)
        .chain(std::iter::repeat_n(Stop::Interrupt, args.interrupts))
        .collect();
    stops.shuffle(&mut rng);
    // Each stop comes once the process stopped has had a random number of jobs accepted (and
    // journaled): 1 to twice a share of two fifths of the batches, since jobs go on being
    // accepted until the stop lands (and Ctrl-C lets those in flight end). So every stop lands
    // before the run ends, most with jobs in flight.
    let share = (batches * 2 / 5 / stops.len().max(1)).max(1);
    let points: Vec<usize> = (0..stops.len()).map(|_| rng.gen_range(1..=2 * share)).collect();

    println!(
        "soak: {} rows, {} SIGKILL + {} SIGINT, seed {}, faults {}, sandbox {url}, zdbulk {}",
        args.rows,
        args.kills,
        args.interrupts,
        args.seed,
        args.faults,
        bin.display()
    );
    let clock = Instant::now();
    let mut journal = JournalTail::new(run_dir.join("journal.ndjson"));
    let mut codes: Vec<i32> = Vec::new();
    let mut first = true;
    let (mut kills, mut interrupts) = (0, 0);
    let mut next = 0;
    loop {
        let cmd = if first {
            vec![
                "import".to_string(),
                "organizations".into(),
                file.display().to_string(),
                "--url".into(),
                url.clone(),
                "--run-dir".into(),
                run_dir.display().to_string(),
                "--quiet".into(),
            ]
        } else {
            vec!["resume".into(), run_dir.display().to_string(), "--quiet".into()]
        };
        first = false;
        let mut child = spawn(&bin, &dir, &cmd, codes.len())?;
        let stop = stops.get(next).copied();
        // A stop lands once this process has had jobs of its own accepted, so that every
        // cycle gets on with the run (and a Ctrl-C never comes before zdbulk listens for it).
        let at = journal.jobs()? + points.get(next).copied().unwrap_or(0);
        let code = loop {
            if let Some(status) = child.try_wait()? {
                break status.code().unwrap_or(-1);
            }
            if let Some(stop) = stop {
                if journal.jobs()? >= at {
                    next += 1;
                    break match stop {
                        Stop::Kill => {
                            kills += 1;
                            child.kill()?;
                            child.wait()?;
                            -9
                        }
                        Stop::Interrupt => {
                            interrupts += 1;
                            interrupt(&mut child).await?
                        }
                    };
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        codes.push(code);
        println!(
            "  cycle {:>2}: {:<6} exit {code:>3} at {:>6.1} s, {} jobs accepted",
            codes.len(),
            cmd[0],
            clock.elapsed().as_secs_f64(),
            journal.jobs()?
        );
        match code {
            0 | 1 if next >= stops.len() => break,
            0 | 1 => bail!("the run ended before every stop was made (cycle {})", codes.len()),
            -9 | 130 | 3 => {}
            other => bail!("zdbulk exited {other}; see {}", dir.display()),
        }
        if codes.len() > stops.len() + 20 {
            bail!("the run did not end after {} cycles", codes.len());
        }
    }
    let elapsed = clock.elapsed();

    let verdict = check(&url, &run_dir, args.rows).await?;
    let stats = get(&url, "/sandbox/stats").await?;
    println!(
        "{} cycles ({kills} SIGKILL, {interrupts} SIGINT, {} exit 3) in {:.1} s; {} API requests, faults injected {}",
        codes.len(),
        codes.iter().filter(|c| **c == 3).count(),
        elapsed.as_secs_f64(),
        stats["total_requests"],
        stats["faults"]
    );
    println!("{}", verdict.line());
    sandbox.shutdown().await?;
    if args.dir.is_some() {
        println!("run directory kept: {}", run_dir.display());
    }
    Ok(verdict.perfect())
}

/// Sends Ctrl-C, waits for the run to stop (a second Ctrl-C after two minutes); its exit code.
async fn interrupt(child: &mut Child) -> anyhow::Result<i32> {
    let pid = child.id().to_string();
    let send = || Command::new("kill").args(["-INT", &pid]).status();
    send().context("failed to run kill")?;
    let end = Instant::now() + Duration::from_secs(120);
    let mut again = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code().unwrap_or(-1));
        }
        if !again && Instant::now() > end {
            again = true;
            send().context("failed to run kill")?;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn spawn(bin: &Path, dir: &Path, args: &[String], n: usize) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.join(format!("cycle-{n}.log")))?;
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars() {
        if key.starts_with("ZENDESK_") || key.starts_with("ZDBULK_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .args(args)
        .env("ZENDESK_EMAIL", "admin@sandbox.test")
        .env("ZENDESK_API_TOKEN", "sandbox-token")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("failed to start {}", bin.display()))
}

/// Reads a growing journal from where it left off, counting its `job` lines (jobs accepted).
struct JournalTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    jobs: usize,
}

impl JournalTail {
    fn new(path: PathBuf) -> JournalTail {
        JournalTail { path, offset: 0, partial: Vec::new(), jobs: 0 }
    }

    fn jobs(&mut self) -> anyhow::Result<usize> {
        let Ok(mut file) = std::fs::File::open(&self.path) else { return Ok(0) };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        self.offset += file.read_to_end(&mut buf)? as u64;
        self.partial.extend_from_slice(&buf);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(self.jobs);
        };
        let tag = b"\"type\":\"job\"";
        self.jobs += self.partial[..end]
            .split(|&b| b == b'\n')
            .filter(|line| line.windows(tag.len()).any(|w| w == tag))
            .count();
        self.partial.drain(..=end);
        Ok(self.jobs)
    }
}

fn tier(i: usize) -> &'static str {
    ["free", "pro", "enterprise"][i % 3]
}

fn write_file(path: &Path, rows: usize) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "name",
        "external_id",
        "notes",
        "organization_fields.tier",
        "organization_fields.seats",
    ])?;
    for i in 0..rows {
        w.write_record([
            format!("Soak org {i:06}"),
            format!("soak-{i}"),
            format!("note {i}"),
            tier(i).to_string(),
            (i % 1000).to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// What the report and the account say of the file's rows.
struct Verdict {
    rows: usize,
    /// Rows with no success line in the report, or no record in the account.
    lost: usize,
    /// Extra report lines, and records beyond one per row (same external id, or not in the file).
    duplicates: usize,
    /// Rows reported once as done whose one record holds the file's values.
    accounted: usize,
}

impl Verdict {
    fn perfect(&self) -> bool {
        self.lost == 0 && self.duplicates == 0 && self.accounted == self.rows
    }

    fn line(&self) -> String {
        let pct = 100.0 * self.accounted as f64 / self.rows.max(1) as f64;
        let pct = if self.accounted == self.rows { "100".to_string() } else { format!("{pct:.3}") };
        format!(
            "rows lost {}, duplicates {}, rows accounted for {pct} %",
            self.lost, self.duplicates
        )
    }
}

async fn check(url: &str, run_dir: &Path, rows: usize) -> anyhow::Result<Verdict> {
    // The report: one line a row, each a success.
    let mut lines: HashMap<usize, Vec<String>> = HashMap::new();
    let mut report = csv::Reader::from_path(run_dir.join("report.csv"))?;
    let mut duplicates = 0;
    for rec in report.records() {
        let rec = rec?;
        let row: usize = rec.get(0).unwrap_or("").parse().context("a report row number")?;
        if lines.insert(row, rec.iter().map(str::to_string).collect()).is_some() {
            duplicates += 1;
        }
    }
    // The account: every organization, by external id.
    let mut records: HashMap<String, Vec<Value>> = HashMap::new();
    let mut path = "/api/v2/organizations.json?page%5Bsize%5D=100".to_string();
    loop {
        let page = get(url, &path).await?;
        for o in page["organizations"].as_array().cloned().unwrap_or_default() {
            let key = o["external_id"].as_str().unwrap_or("").to_string();
            records.entry(key).or_default().push(o);
        }
        match page["links"]["next"].as_str() {
            Some(next) if page["meta"]["has_more"] == Value::Bool(true) => {
                path = next
                    .split_once("/api/")
                    .map(|(_, p)| format!("/api/{p}"))
                    .context("a next link")?;
            }
            _ => break,
        }
    }
    let mut lost = 0;
    let mut accounted = 0;
    for i in 0..rows {
        let line = lines.get(&(i + 2));
        let reported =
            line.is_some_and(|l| ["created", "updated", "unchanged"].contains(&l[3].as_str()));
        let found = records.remove(&format!("soak-{i}")).unwrap_or_default();
        if !reported || found.is_empty() {
            lost += 1;
        }
        duplicates += found.len().saturating_sub(1);
        let holds = |o: &Value| {
            o["name"] == format!("Soak org {i:06}").as_str()
                && o["notes"] == format!("note {i}").as_str()
                && o["organization_fields"]["tier"] == tier(i)
                && o["organization_fields"]["seats"] == (i % 1000) as u64
        };
        if reported && found.len() == 1 && holds(&found[0]) {
            accounted += 1;
        }
    }
    duplicates += records.values().map(Vec::len).sum::<usize>();
    duplicates += lines.keys().filter(|r| **r < 2 || **r >= rows + 2).count();
    Ok(Verdict { rows, lost, duplicates, accounted })
}

/// A GET with the sandbox's credentials, asked again through injected faults.
async fn get(url: &str, path: &str) -> anyhow::Result<Value> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let sent = client
            .get(format!("{url}{path}"))
            .basic_auth("admin@sandbox.test/token", Some("sandbox-token"))
            .send()
            .await;
        if let Ok(resp) = sent {
            if resp.status().is_success() {
                if let Ok(v) = resp.json::<Value>().await {
                    return Ok(v);
                }
            }
        }
    }
    bail!("GET {path} failed 100 times")
}
