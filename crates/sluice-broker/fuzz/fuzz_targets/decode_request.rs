//! Feeds arbitrary bytes through the broker's framing and request decoding, exactly as a
//! connection would. The property: no input panics (or aborts on allocation).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice_broker::codec::decode_stream(data, 1 << 20);
});
