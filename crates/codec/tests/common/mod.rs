//! Helpers shared by the codec's API tests.

use std::path::PathBuf;

/// The shared upstream test data (`$VIGIL_TESTDATA`, else `../shared/testdata` beside the
/// repository), or `None` with a one-line notice when it is absent.
pub fn testdata(sub: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("VIGIL_TESTDATA") {
        Some(d) => PathBuf::from(d),
        // Cargo's runtime value first: a target dir shared by clones at different paths can hold
        // a binary built elsewhere, whose compile-time path is stale.
        None => PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../../shared/testdata"),
    };
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} not found", dir.display());
        None
    }
}
