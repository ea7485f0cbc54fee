//! The quick front-matter reader against `toml`: whatever document the
//! quick reader takes, `toml` must read the same way (the hook panics if not).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(front) = std::str::from_utf8(data) {
        gazette::source::check_quick_reader(front);
    }
});
