//! The end of the browser's trip: a one-shot listener on `127.0.0.1:PORT/callback`, or a
//! pasted redirect URL, turned into the authorization code once `state` matches.

use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::error::{api_error, usage_error};

/// How long the listener waits for the browser (zdk waits 300 s; the code itself lives 120 s).
pub(super) const WAIT: Duration = Duration::from_secs(300);

/// The largest request head the listener reads.
const MAX_HEAD: usize = 16 * 1024;

/// Waits for `GET /callback?...` and answers the browser; returns the code. Other paths (a
/// browser's `/favicon.ico`) get a 404 and the wait goes on.
pub(super) async fn listen(listener: TcpListener, state: &str) -> anyhow::Result<String> {
    let wait = async {
        loop {
            let (mut stream, _) = listener.accept().await.context("the login listener failed")?;
            let Some(target) = read_target(&mut stream).await else { continue };
            let Some(query) = target.strip_prefix("/callback") else {
                let _ = stream.write_all(&page(404, "Not found")).await;
                continue;
            };
            let query = query.strip_prefix('?').unwrap_or(query);
            let result = code_from_query(query, state);
            let answer = match &result {
                Ok(_) => page(200, "Signed in to zdbulk. You can close this tab."),
                Err(_) => page(400, "zdbulk could not sign in; see the terminal."),
            };
            let _ = stream.write_all(&answer).await;
            let _ = stream.shutdown().await;
            return result;
        }
    };
    tokio::time::timeout(WAIT, wait).await.map_err(|_| {
        api_error(format!(
            "no answer from the browser within {} s; run the login again (or use --paste)",
            WAIT.as_secs()
        ))
    })?
}

/// The request target of `GET target HTTP/1.1`, or `None` for anything else.
async fn read_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

/// A tiny HTML answer for the browser.
fn page(status: u16, text: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!("<!doctype html><title>zdbulk</title><p>{text}</p>\n");
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    answer.into_bytes()
}

/// The code of a pasted redirect: the whole URL, or its query (with or without `?`).
pub(super) fn code_from_pasted(pasted: &str, state: &str) -> anyhow::Result<String> {
    let pasted = pasted.trim();
    if pasted.is_empty() {
        return Err(usage_error("nothing was pasted: paste the whole URL the browser ended on"));
    }
    let query = match pasted.split_once('?') {
        Some((_, q)) => q,
        None => pasted,
    };
    let query = query.split('#').next().unwrap_or_default();
    code_from_query(query, state)
}

/// Checks `state` and returns `code`, or the error Zendesk redirected with. Messages never
/// repeat the code.
fn code_from_query(query: &str, state: &str) -> anyhow::Result<String> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or("");
        return Err(api_error(format!("Zendesk did not authorize zdbulk: {error}: {description}")));
    }
    if get("state") != Some(state) {
        // A redirect that does not carry our state was not started by this login (CSRF,
        // or a stale tab): its code must not be used.
        return Err(api_error(
            "the sign-in answer does not match this login (state differs); run the login again",
        ));
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(code) => Ok(code.to_string()),
        None => Err(api_error("the sign-in answer carries no authorization code")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_urls_and_queries_give_the_code_when_state_matches() {
        let url = "http://127.0.0.1:8765/callback?code=abc123&state=s1";
        assert_eq!(code_from_pasted(url, "s1").unwrap(), "abc123");
        assert_eq!(code_from_pasted("?code=abc123&state=s1\n", "s1").unwrap(), "abc123");
        let wrong = format!("{:#}", code_from_pasted(url, "s2").unwrap_err());
        assert!(wrong.contains("state differs") && !wrong.contains("abc123"), "{wrong}");
        let denied = "http://127.0.0.1:8765/callback?error=access_denied&state=s1";
        assert!(
            format!("{:#}", code_from_pasted(denied, "s1").unwrap_err()).contains("access_denied")
        );
        assert!(code_from_pasted("", "s1").is_err());
    }
}
