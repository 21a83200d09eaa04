//! Round trips per launch: a store far away costs a launch its round trips, one
//! after the other, not its requests. Each stub holds every answer a while (a
//! network's round trip); the requests it saw fall into waves, one per round trip
//! the client waited for. The floor for Vault is one mount lookup and one wave of
//! reads, for 1 reference as for 20 on one mount.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stub::{self, Request};
use crate::util::Test;

/// How long every answer is held: long enough that the requests of one wave,
/// sent at once, arrive far closer together than two waves do, even on a busy
/// machine.
pub const HOLD: Duration = Duration::from_millis(400);

/// The waves in these arrival times: a gap of more than half the hold starts one.
pub fn waves(mut arrivals: Vec<Instant>) -> usize {
    arrivals.sort();
    1 + arrivals
        .windows(2)
        .filter(|w| w[1].duration_since(w[0]) > HOLD / 2)
        .count()
}

/// When each request came, as a proxy records it.
pub type Arrivals = Arc<Mutex<Vec<Instant>>>;

/// A proxy to `target` (`http://…`) a round trip away: it records when each request
/// came, holds it [`HOLD`], then forwards it with its method, path, headers and body.
pub fn holding_proxy(target: String) -> (stub::Stub, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let seen = arrivals.clone();
    let proxy = stub::serve_with_body(move |request, body| {
        seen.lock().unwrap().push(Instant::now());
        std::thread::sleep(HOLD);
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "host" | "content-length" | "connection"))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        stub::http(
            &request.method,
            &format!("{target}{}", request.path),
            &headers,
            body,
        )
    });
    (proxy, arrivals)
}

#[test]
fn vault_takes_two_round_trips_for_one_path_or_twenty_on_a_mount() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = arrivals.clone();
    let vault = stub::serve(move |request: &Request| {
        seen.lock().unwrap().push(Instant::now());
        std::thread::sleep(HOLD);
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        let name = request.path.rsplit('/').next().unwrap().to_uppercase();
        (200, format!(r#"{{"data":{{"data":{{"{name}":"v"}}}}}}"#))
    });
    for count in [1, 20] {
        arrivals.lock().unwrap().clear();
        let mut test = Test::new()
            .env("VAULT_ADDR", vault.url())
            .env("VAULT_TOKEN", "t")
            .args(["--timeout", "60s", "--pure"]);
        for i in 0..count {
            test = test.args(["--from", &format!("vault://secret/app/p{i}")]);
        }
        let run = test.args(["--", "env", "-0"]).run();
        run.success();
        assert_eq!(run.env0().len(), count);
        let arrivals = arrivals.lock().unwrap().clone();
        assert_eq!(
            arrivals.len(),
            1 + count,
            "one lookup for the mount, then the reads"
        );
        assert_eq!(
            waves(arrivals),
            2,
            "{count} paths: a lookup, then one wave of reads"
        );
    }
}
