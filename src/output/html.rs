//! `report.html`: one self-contained page (no network, no script) a migration lead forwards —
//! the run's target, file, mode, timings, counts, failures grouped by error code with their
//! rows, rows settled per minute as a small chart, and links to the run's files. Rendered with
//! minijinja from `report.html.j2`, every value escaped: cells from the input are data.

use std::path::Path;

use minijinja::{context, Environment};
use serde::Serialize;

use super::summary::{Summary, ROWS_SHOWN};
use super::timeline::{bucket_secs, per_bucket, Sample};

const TEMPLATE: &str = include_str!("report.html.j2");

/// One bar of the chart.
#[derive(Serialize)]
struct Bar {
    minute: usize,
    rows: u64,
    waited: bool,
    x: u64,
    y: u64,
    w: u64,
    h: u64,
}

fn duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// Renders the page for `summary` and the run's `samples`.
pub fn render(
    summary: &Summary,
    samples: &[Sample],
    dir: &Path,
) -> Result<String, minijinja::Error> {
    let bucket = bucket_secs(samples);
    let minutes = per_bucket(samples, bucket);
    let peak = minutes.iter().map(|m| m.0).max().unwrap_or(0);
    let (w, gap, height) = (14u64, 3u64, 120u64);
    let bars: Vec<Bar> = if peak == 0 {
        vec![]
    } else {
        minutes
            .iter()
            .enumerate()
            .map(|(i, &(rows, waited))| {
                let h = (rows * height).div_ceil(peak);
                let x = 10 + i as u64 * (w + gap);
                Bar { minute: i + 1, rows, waited, x, y: 10 + height - h, w, h }
            })
            .collect()
    };
    let width = 20 + minutes.len() as u64 * (w + gap);
    let (verdict, class) = match summary.exit_code {
        0 => ("every row succeeded", "ok"),
        1 => ("finished; some rows failed or were invalid", "some"),
        130 => ("interrupted: finish it with zdbulk resume", "stop"),
        _ => ("stopped early: the API could not be used", "stop"),
    };
    let failed_name = ["failed.csv", "failed.xlsx"].into_iter().find(|f| dir.join(f).exists());
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    env.get_template("report.html")?.render(context! {
        s => summary,
        verdict,
        verdict_class => class,
        duration => duration(summary.duration_secs),
        rows_shown => ROWS_SHOWN,
        bars,
        width,
        peak,
        bucket,
        failed_name,
        has_changes => dir.join("changes.csv").exists(),
    })
}

/// Writes `report.html` in `dir` (0600).
pub fn write(summary: &Summary, samples: &[Sample], dir: &Path) -> std::io::Result<()> {
    let page = render(summary, samples, dir).map_err(std::io::Error::other)?;
    super::private::write(&dir.join("report.html"), page.as_bytes())
}
