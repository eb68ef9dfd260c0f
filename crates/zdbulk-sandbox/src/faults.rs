//! Fault injection: which fault, if any, a request meets (`--faults`, `--fault-seed`).

use rand::Rng;

use super::state::Sandbox;

/// The fault one request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answered 500 or 503 without being carried out.
    ServerError(u16),
    /// Carried out, but the connection drops before the answer's body arrives.
    Drop,
    /// Answered after a delay.
    Slow,
}

/// Draws the fault for one request from the seeded generator.
pub fn draw(sandbox: &Sandbox) -> Option<Fault> {
    let f = sandbox.config.faults;
    if f.server_error == 0.0 && f.drop == 0.0 && f.slow == 0.0 {
        return None;
    }
    let mut rng = sandbox.rng.lock().unwrap_or_else(|e| e.into_inner());
    let x: f64 = rng.gen();
    if x < f.server_error {
        let code = if rng.gen_bool(0.5) { 500 } else { 503 };
        Some(Fault::ServerError(code))
    } else if x < f.server_error + f.drop {
        Some(Fault::Drop)
    } else if x < f.server_error + f.drop + f.slow {
        Some(Fault::Slow)
    } else {
        None
    }
}
