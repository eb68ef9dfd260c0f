//! `zdbulk merge organizations --suggest -o pairs.csv`: reads the account and proposes pairs of
//! duplicates for a person to review — the same name once case, punctuation and legal
//! suffixes (Inc, Ltd, GmbH, …) are ignored, or a shared domain name. In each group the
//! organization with more users stays (ties: the older). Nothing is merged: the file written is
//! the input of `zdbulk merge organizations`, with a `reason` column merge ignores.

use std::collections::HashMap;

use anyhow::Context as _;

use super::account::Account;
use crate::cli::MergeArgs;
use crate::error::{usage_error, ExitStatus};

/// Words dropped from the end of a name: legal forms.
const LEGAL: &[&str] = &[
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "llp",
    "lp",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "pty",
    "oy",
    "ab",
    "as",
    "aps",
    "kk",
    "pte",
    "sl",
    "se",
];

/// A name reduced for comparison: lower case, letters and digits only, legal suffixes gone.
pub(crate) fn normalize(name: &str) -> String {
    let lower = name.to_lowercase();
    let cleaned: String =
        lower.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    // "G.m.b.H." reads as one-letter words: runs of them are joined back into one word.
    let mut runs: Vec<(String, bool)> = Vec::new();
    for w in cleaned.split_whitespace() {
        let single = w.chars().count() == 1;
        match runs.last_mut() {
            Some((last, true)) if single => last.push_str(w),
            _ => runs.push((w.to_string(), single)),
        }
    }
    let mut joined: Vec<String> = runs.into_iter().map(|(w, _)| w).collect();
    while joined.len() > 1 && joined.last().is_some_and(|w| LEGAL.contains(&w.as_str())) {
        joined.pop();
    }
    joined.concat()
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// One proposed pair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Proposal {
    pub(crate) loser: usize,
    pub(crate) winner: usize,
    pub(crate) reason: String,
}

/// Groups duplicates and picks each group's winner.
pub(crate) fn propose(account: &Account) -> Vec<Proposal> {
    let orgs = &account.orgs;
    let n = orgs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let names: Vec<String> = orgs.iter().map(|o| normalize(&o.name)).collect();
    let mut first: HashMap<String, usize> = HashMap::new();
    let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            parent[ra] = rb;
        }
    };
    for (i, key) in names.iter().enumerate().filter(|(_, k)| !k.is_empty()) {
        match first.get(key) {
            Some(&j) => union(&mut parent, i, j),
            None => {
                first.insert(key.clone(), i);
            }
        }
    }
    let mut by_domain: HashMap<String, usize> = HashMap::new();
    for (i, o) in orgs.iter().enumerate() {
        for d in &o.domain_names {
            let d = d.trim().to_lowercase();
            if d.is_empty() {
                continue;
            }
            match by_domain.get(&d) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    by_domain.insert(d, i);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out = Vec::new();
    for members in groups.values().filter(|g| g.len() > 1) {
        let winner = *members
            .iter()
            .max_by(|&&a, &&b| {
                let (oa, ob) = (&orgs[a], &orgs[b]);
                account
                    .members(oa.id.0)
                    .cmp(&account.members(ob.id.0))
                    // Ties: the older wins (earlier creation, then the lower id).
                    .then_with(|| ob.created_at.cmp(&oa.created_at))
                    .then_with(|| ob.id.cmp(&oa.id))
            })
            .unwrap_or(&members[0]);
        for &loser in members.iter().filter(|&&m| m != winner) {
            out.push(Proposal { loser, winner, reason: reason(account, &names, loser, winner) });
        }
    }
    out.sort_by(|a, b| {
        let key =
            |p: &Proposal| (orgs[p.winner].name.to_lowercase(), orgs[p.loser].name.to_lowercase());
        key(a).cmp(&key(b))
    });
    out
}

fn reason(account: &Account, names: &[String], loser: usize, winner: usize) -> String {
    let (l, w) = (&account.orgs[loser], &account.orgs[winner]);
    let users = format!(
        "; the winner has {} users, the loser {}",
        account.members(w.id.0),
        account.members(l.id.0)
    );
    if names[loser] == names[winner] {
        return format!(
            "same name ignoring case, punctuation and legal suffixes ('{}'){users}",
            names[loser]
        );
    }
    let shared =
        l.domain_names.iter().find(|d| w.domain_names.iter().any(|x| x.eq_ignore_ascii_case(d)));
    match shared {
        Some(d) => format!("shared domain name {d}{users}"),
        None => format!("linked through other organizations of the same group (same names or shared domain names){users}"),
    }
}

/// Runs `--suggest`.
pub(crate) async fn run(args: MergeArgs) -> anyhow::Result<ExitStatus> {
    let Some(out) = args.output.clone() else {
        return Err(usage_error("--suggest writes its pairs to -o FILE"));
    };
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let (target, _client, account) = super::connect(&args, &cwd).await?;
    let proposals = propose(&account);
    write(&out, &account, &proposals)
        .with_context(|| format!("failed to write {}", out.display()))?;
    target.shutdown().await?;
    if !args.quiet {
        println!(
            "{} pairs proposed among {} organizations: {}\nreview them (delete the rows that are not duplicates, swap loser and winner where needed), then:\n  zdbulk merge organizations {} --dry-run",
            proposals.len(),
            account.orgs.len(),
            out.display(),
            out.display()
        );
    }
    Ok(ExitStatus::Success)
}

fn write(path: &std::path::Path, account: &Account, proposals: &[Proposal]) -> anyhow::Result<()> {
    let file = crate::output::private::create(path)?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    w.write_record(["loser_id", "loser_name", "winner_id", "winner_name", "reason"])?;
    for p in proposals {
        let (l, win) = (&account.orgs[p.loser], &account.orgs[p.winner]);
        let cells = [
            l.id.to_string(),
            l.name.clone(),
            win.id.to_string(),
            win.name.clone(),
            p.reason.clone(),
        ];
        w.write_record(
            cells
                .iter()
                .map(|c| crate::output::guard::guard(c))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_ref()),
        )?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_case_punctuation_and_legal_suffixes() {
        assert_eq!(normalize("Acme, Inc."), "acme");
        assert_eq!(normalize("ACME Ltd"), "acme");
        assert_eq!(normalize("acme"), "acme");
        assert_eq!(normalize("Müller GmbH"), "müller");
        assert_eq!(normalize("Müller G.m.b.H."), "müller");
        assert_eq!(normalize("Blue Sky Holdings B.V."), "blueskyholdings");
        assert_ne!(normalize("Acme Labs"), normalize("Acme"));
        assert_eq!(normalize("Inc"), "inc", "a name that is only a suffix keeps it");
    }
}
