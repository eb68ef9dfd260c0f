//! The pairs file: `loser,winner` rows, each side an id, an external id or an exact name, read
//! and checked against the account before anything is sent (`docs/merging.md`).
//!
//! Checks, each reported on its row: a side that names no organization or several, a loser
//! equal to its winner, an organization that is a loser twice, and chains (a winner that is
//! itself a loser of another row: resolved to the final winner and said so) or cycles (refused).

use std::collections::HashMap;
use std::path::Path;

use super::account::Account;
use crate::error::usage_error;
use crate::input::{open_input, Row};

/// How one side of a pair is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Id,
    ExternalId,
    Name,
    /// `loser` / `winner`: an external id, else an exact name.
    Either,
}

/// The columns of one side, in the order they are tried on a row.
#[derive(Debug, Default)]
struct Side {
    columns: Vec<(usize, By)>,
}

/// One row of the file, checked.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    /// 0-based data-row position.
    pub(crate) seq: usize,
    /// The row number the user sees.
    pub(crate) row: usize,
    /// `loser -> winner` as written.
    pub(crate) key: String,
    /// The row's cells.
    pub(crate) original: Vec<String>,
    /// The loser's id (0 when it could not be found).
    pub(crate) loser: u64,
    /// The winner's id: a chain's final winner.
    pub(crate) winner: u64,
    /// Why the row is refused.
    pub(crate) invalid: Option<String>,
    /// A chain resolved on the way.
    pub(crate) chain: Option<String>,
}

/// The file's header and rows, checked against `account`.
pub(crate) struct PairsFile {
    /// The header as written.
    pub(crate) header: Vec<String>,
    /// Every data row, in file order.
    pub(crate) pairs: Vec<Pair>,
}

fn side_of(name: &str) -> Option<(bool, By)> {
    let n = name.trim().to_lowercase();
    let (loser, rest) = if let Some(r) = n.strip_prefix("loser") {
        (true, r)
    } else if let Some(r) = n.strip_prefix("winner") {
        (false, r)
    } else {
        return None;
    };
    let by = match rest {
        "" => By::Either,
        "_id" => By::Id,
        "_external_id" => By::ExternalId,
        "_name" => By::Name,
        _ => return None,
    };
    Some((loser, by))
}

/// Columns merge reads besides the sides: `reason` (written by `--suggest`) and the failed
/// file's `zdbulk_error` are ignored.
const IGNORED: [&str; 2] = ["reason", crate::output::failed_rows::ERROR_COLUMN];

/// Reads and checks the pairs file.
pub(crate) fn read(
    path: &Path,
    sheet: Option<&str>,
    account: &Account,
) -> anyhow::Result<PairsFile> {
    let mut input =
        open_input(path, sheet).map_err(|e| usage_error(format!("{}: {e}", path.display())))?;
    let header: Vec<String> = input.header().columns.iter().map(|c| c.name.clone()).collect();
    let (mut loser, mut winner) = (Side::default(), Side::default());
    for (i, name) in header.iter().enumerate() {
        match side_of(name) {
            Some((true, by)) => loser.columns.push((i, by)),
            Some((false, by)) => winner.columns.push((i, by)),
            None if IGNORED.contains(&name.trim().to_lowercase().as_str()) => {}
            None => {
                return Err(usage_error(format!(
                    "{}: unknown column '{name}': a pairs file has loser and winner columns (loser_id, loser_external_id, loser_name or loser; the same for winner), and may have a reason column",
                    path.display()
                )))
            }
        }
    }
    if loser.columns.is_empty() || winner.columns.is_empty() {
        return Err(usage_error(format!(
            "{}: a pairs file needs a loser column and a winner column (loser_id, loser_external_id, loser_name or loser; the same for winner)",
            path.display()
        )));
    }
    for side in [&mut loser, &mut winner] {
        side.columns.sort_by_key(|(_, by)| *by as u8);
    }
    let mut pairs = Vec::new();
    let mut row = Row::default();
    while input.read_row(&mut row).map_err(|e| usage_error(format!("{}: {e}", path.display())))? {
        let seq = pairs.len();
        pairs.push(check_row(seq, &row, &loser, &winner, account));
    }
    check_file(&mut pairs, account);
    Ok(PairsFile { header, pairs })
}

/// The side's value on a row: its first non-empty column.
fn value_of<'r>(row: &'r Row, side: &Side) -> Option<(&'r str, By)> {
    side.columns.iter().find_map(|(i, by)| {
        let v = row.cells.get(*i).map(|c| c.trim()).filter(|c| !c.is_empty())?;
        Some((v, *by))
    })
}

/// Finds the organization a side names.
fn resolve(what: &str, value: &str, by: By, account: &Account) -> Result<u64, String> {
    let ids = match by {
        By::Id => match value.parse::<u64>() {
            Ok(id) => account.get(id).map(|o| o.id.0).into_iter().collect(),
            Err(_) => return Err(format!("the {what} id '{value}' is not a number")),
        },
        By::ExternalId => account.with_external_id(value),
        By::Name => account.with_name(value),
        By::Either => {
            let mut ids = account.with_external_id(value);
            ids.extend(account.with_name(value));
            ids.sort_unstable();
            ids.dedup();
            ids
        }
    };
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(format!("the {what} '{value}' matches no organization")),
        many => {
            let list: Vec<String> = many.iter().map(|id| account.label(*id)).collect();
            Err(format!(
                "the {what} '{value}' matches {} organizations ({}): name it by id",
                many.len(),
                list.join(", ")
            ))
        }
    }
}

fn check_row(seq: usize, row: &Row, loser: &Side, winner: &Side, account: &Account) -> Pair {
    let l = value_of(row, loser);
    let w = value_of(row, winner);
    let key = format!("{} -> {}", l.map_or("", |v| v.0), w.map_or("", |v| v.0));
    let mut pair = Pair {
        seq,
        row: row.number,
        key,
        original: row.cells.clone(),
        loser: 0,
        winner: 0,
        invalid: None,
        chain: None,
    };
    let outcome = (|| {
        if let Some(p) = &row.problem {
            return Err(p.clone());
        }
        let (lv, lb) = l.ok_or("the loser is empty")?;
        let (wv, wb) = w.ok_or("the winner is empty")?;
        pair.loser = resolve("loser", lv, lb, account)?;
        pair.winner = resolve("winner", wv, wb, account)?;
        if pair.loser == pair.winner {
            return Err(format!(
                "the loser and the winner are the same organization, {}",
                account.label(pair.loser)
            ));
        }
        Ok(())
    })();
    pair.invalid = outcome.err().map(|e: String| e);
    pair
}

/// Checks across rows: losers named twice, then chains and cycles among the valid rows.
fn check_file(pairs: &mut [Pair], account: &Account) {
    let mut first_as_loser: HashMap<u64, usize> = HashMap::new();
    for p in pairs.iter_mut().filter(|p| p.invalid.is_none()) {
        match first_as_loser.get(&p.loser) {
            Some(row) => {
                p.invalid = Some(format!(
                    "{} is already the loser of row {row}: an organization can be merged away once",
                    account.label(p.loser)
                ))
            }
            None => {
                first_as_loser.insert(p.loser, p.row);
            }
        }
    }
    let next: HashMap<u64, (u64, usize)> = pairs
        .iter()
        .filter(|p| p.invalid.is_none())
        .map(|p| (p.loser, (p.winner, p.row)))
        .collect();
    for p in pairs.iter_mut().filter(|p| p.invalid.is_none()) {
        let mut path = vec![p.loser, p.winner];
        let mut rows = vec![];
        let mut at = p.winner;
        let cycle = loop {
            let Some(&(to, row)) = next.get(&at) else { break false };
            rows.push(row);
            if path.contains(&to) {
                path.push(to);
                break true;
            }
            path.push(to);
            at = to;
        };
        let shown: Vec<String> = path.iter().map(|id| account.label(*id)).collect();
        if cycle {
            p.invalid = Some(format!(
                "the pairs form a cycle ({}; rows {}): refused, since no organization of it could stay",
                shown.join(" -> "),
                rows.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ));
        } else if at != p.winner {
            p.chain = Some(format!(
                "chain resolved: the winner {} is itself merged away (row {}); merged into the final winner {} ({})",
                account.label(p.winner),
                rows.first().copied().unwrap_or(0),
                account.label(at),
                shown.join(" -> ")
            ));
            p.winner = at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zendesk::models::Organization;

    fn account(names: &[&str]) -> Account {
        let orgs = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                serde_json::from_value::<Organization>(serde_json::json!({
                    "id": i as u64 + 1, "name": n, "external_id": format!("x-{n}")
                }))
                .unwrap()
            })
            .collect();
        Account::new(orgs, HashMap::new())
    }

    fn file(text: &str, acc: &Account) -> Vec<Pair> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pairs.csv");
        std::fs::write(&p, text).unwrap();
        read(&p, None, acc).unwrap().pairs
    }

    #[test]
    fn every_problem_is_named_on_its_row() {
        let acc = account(&["A", "B", "C", "D", "E", "F"]);
        let text = "loser,winner,reason\nA,B,x\nx-B,C,\nZ,C,\nD,D,\nA,C,\nE,F,\nF,E,\n";
        let pairs = file(text, &acc);
        assert_eq!(pairs[0].invalid, None);
        assert_eq!(pairs[0].winner, 3, "A -> B -> C resolves to C");
        assert!(pairs[0].chain.as_deref().unwrap().contains("row 3"));
        assert_eq!(pairs[1].invalid, None);
        assert!(pairs[2].invalid.as_deref().unwrap().contains("matches no organization"));
        assert!(pairs[3].invalid.as_deref().unwrap().contains("same organization"));
        assert!(pairs[4].invalid.as_deref().unwrap().contains("already the loser of row 2"));
        assert!(pairs[5].invalid.as_deref().unwrap().contains("cycle"));
        assert!(pairs[6].invalid.as_deref().unwrap().contains("cycle"));
    }

    #[test]
    fn typed_columns_and_ambiguity() {
        // One organization's external id is another's name.
        let orgs = vec![
            serde_json::from_value::<Organization>(
                serde_json::json!({"id": 1, "name": "Acme", "external_id": "beta"}),
            )
            .unwrap(),
            serde_json::from_value::<Organization>(serde_json::json!({"id": 2, "name": "Beta"}))
                .unwrap(),
            serde_json::from_value::<Organization>(serde_json::json!({"id": 3, "name": "Gamma"}))
                .unwrap(),
        ];
        let acc = Account::new(orgs, HashMap::new());
        let pairs = file("loser,winner_id\nbeta,3\n", &acc);
        assert!(pairs[0].invalid.as_deref().unwrap().contains("matches 2 organizations"));
        let pairs = file("loser_name,winner_id\nbeta,3\n", &acc);
        assert_eq!((pairs[0].loser, pairs[0].winner, pairs[0].invalid.clone()), (2, 3, None));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, "loser,champion\na,b\n").unwrap();
        assert!(read(&p, None, &acc).is_err());
    }
}
