//! Makes binaries, tests and benches find libtorch without LD_LIBRARY_PATH.
//!
//! torch-sys (links = "tch") exports the libtorch lib directory it linked
//! against as DEP_TCH_LIBTORCH_LIB. We add it as an rpath, and when the
//! libtorch build carries CUDA we force a DT_NEEDED on libtorch_cuda.so:
//! nothing in our code references its symbols, so `--as-needed` would drop it
//! and `tch::Cuda::is_available()` would then report false on GPU machines.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not export DEP_TCH_LIBTORCH_LIB; no rpath added");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
