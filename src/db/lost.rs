//! Connections found lost (PostgreSQL restarted, a proxy cut them): what the error mapping
//! reports and the pool reads. Below [`crate::error`], which calls [`connection_lost`].

use std::sync::Mutex;
use std::time::Duration;

/// How long, after a connection was found lost, every connection is checked as it leaves the
/// pool: the server restarted, or a proxy cut idle connections, and the pool's other idle
/// connections are likely gone too.
const SUSPICION: Duration = Duration::from_secs(60);

/// Until when connections are checked as they leave the pool (see [`SUSPICION`]).
static SUSPECT_UNTIL: Mutex<Option<std::time::Instant>> = Mutex::new(None);

thread_local! {
    /// The connection this thread is using was found lost: the pool drops it when it comes back.
    static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub fn suspecting() -> bool {
    SUSPECT_UNTIL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some_and(|until| std::time::Instant::now() < until)
}

/// Called when a statement fails because its connection is gone (PostgreSQL restarted, the
/// backend terminated, the network cut): the request that met it fails (503), the connection
/// is dropped as it goes back to the pool, and for [`SUSPICION`] every connection taken from
/// the pool is checked first, so the idle ones that died with it fail no other request.
pub fn connection_lost() {
    LOST.with(|lost| lost.set(true));
    *SUSPECT_UNTIL.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(std::time::Instant::now() + SUSPICION);
}

/// Whether this thread's connection was found lost, forgetting it (the pool asks as the
/// connection comes back).
pub fn take() -> bool {
    LOST.with(|lost| lost.replace(false))
}

/// Whether this thread's connection was found lost (without forgetting it).
pub fn is_lost() -> bool {
    LOST.with(|lost| lost.get())
}
