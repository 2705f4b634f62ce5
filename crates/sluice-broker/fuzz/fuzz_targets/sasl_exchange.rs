//! Feeds arbitrary bytes to what a client reaches before it has authenticated: the SCRAM
//! server's two messages (against a store holding a real user, so a valid client-first goes on
//! to the proof check), PLAIN, and the principal-mapping rules an operator writes. The
//! property: no input panics. (The ACL and SASL request bodies themselves are decoded by
//! `decode_request`, whose table includes them.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_auth::{InMemoryCredentialStore, ScramCredential, ScramMechanism, ScramServer};

fuzz_target!(|data: &[u8]| {
    let mut store = InMemoryCredentialStore::new();
    for m in ScramMechanism::ALL {
        if let Ok(c) = ScramCredential::derive(m, "pw", b"fuzz-salt", 4096) {
            store.upsert("u", m, c);
        }
    }
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (first, last) = data.split_at(split);
    for m in ScramMechanism::ALL {
        let mut server = ScramServer::new(m, b"fuzz");
        if server.handle_client_first(first, &store).is_ok() {
            let _ = server.handle_client_final(last);
        }
    }
    let _ = sluice_auth::plain::authenticate(data, &store, b"fuzz");
    let _ = sluice_auth::SslPrincipalMapper::from_rules(&String::from_utf8_lossy(data));
});
