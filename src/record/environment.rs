//! Where a run ran: what the nightly's history needs to tell a drift of the code from a
//! drift of the machine (commit, date, device, driver, CUDA, cuDNN, libtorch, CPU).
use serde::{Deserialize, Serialize};
use tch::Device;

/// The machine and software a run ran on, recorded in its `summary.json`. Every field is
/// best effort: what cannot be found is `None`, never an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// The commit built: `RETHINK_COMMIT`, else `GITHUB_SHA`, else `git rev-parse HEAD` in
    /// the working directory.
    pub commit: Option<String>,
    /// When the run finished, UTC, RFC 3339 (`2026-11-28T12:00:00Z`).
    pub date: String,
    /// The device trained on, by name: the GPU's (from `nvidia-smi`) or the CPU's model.
    pub device: String,
    /// The NVIDIA driver (CUDA runs).
    pub driver: Option<String>,
    /// The CUDA runtime libtorch was built with, e.g. `12.8` (CUDA runs).
    pub cuda: Option<String>,
    /// cuDNN, e.g. `9.10.2` (CUDA runs).
    pub cudnn: Option<String>,
    /// libtorch's version, read beside the loaded library (`torch/version.py` of a PyPI
    /// wheel, `build-version` of a libtorch archive).
    pub libtorch: Option<String>,
    /// The CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// The instruction-set level libtorch's CPU kernels use: `ATEN_CPU_CAPABILITY` when
    /// set, else the best the CPU has of `avx512`, `avx2` and `default`.
    pub cpu_capability: String,
}

impl Environment {
    /// The environment of a run on `device`, now.
    pub fn capture(device: Device) -> Environment {
        let cpu = cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let gpu = match device {
            Device::Cuda(i) => nvidia_smi(i),
            _ => None,
        };
        let cuda_run = matches!(device, Device::Cuda(_));
        Environment {
            commit: commit(),
            date: utc_now(),
            device: match (&gpu, device) {
                (Some((name, _)), _) => name.clone(),
                (None, Device::Cuda(i)) => format!("cuda:{i}"),
                (None, _) => cpu.clone(),
            },
            driver: gpu.map(|(_, driver)| driver),
            cuda: cuda_run
                .then(|| version_number(tch::utils::version_cudart(), 1000, 10))
                .flatten(),
            cudnn: cuda_run
                .then(|| cudnn_version(tch::utils::version_cudnn()))
                .flatten(),
            libtorch: libtorch_version(),
            cpu,
            cpu_capability: cpu_capability(),
        }
    }
}

/// The commit built (see [`Environment::commit`]).
pub fn commit() -> Option<String> {
    for var in ["RETHINK_COMMIT", "GITHUB_SHA"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return Some(v.trim().to_string());
            }
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !s.trim().is_empty()).then(|| s.trim().to_string())
}

/// The GPU's name and driver, from `nvidia-smi`. `CUDA_VISIBLE_DEVICES` renumbers the
/// devices libtorch sees; nvidia-smi uses the physical index.
fn nvidia_smi(index: usize) -> Option<(String, String)> {
    let physical = match std::env::var("CUDA_VISIBLE_DEVICES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').nth(index)?.trim().to_string(),
        _ => index.to_string(),
    };
    let out = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,driver_version",
            "--format=csv,noheader",
            &format!("--id={physical}"),
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout).ok()?;
    let (name, driver) = line.lines().next()?.split_once(',')?;
    out.status
        .success()
        .then(|| (name.trim().to_string(), driver.trim().to_string()))
}

/// `12080` → `12.8` (CUDA's encoding: major·1000 + minor·10).
fn version_number(v: i64, major: i64, minor: i64) -> Option<String> {
    (v > 0).then(|| format!("{}.{}", v / major, (v % major) / minor))
}

/// `91002` → `9.10.2` (cuDNN 9's encoding: major·10000 + minor·100 + patch).
fn cudnn_version(v: i64) -> Option<String> {
    (v > 0).then(|| format!("{}.{}.{}", v / 10000, (v % 10000) / 100, v % 100))
}

/// libtorch's version, from the files beside the loaded `libtorch_cpu.so`.
fn libtorch_version() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let lib = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libtorch_cpu.so"))?;
    let lib_dir = std::path::Path::new(lib).parent()?;
    let root = lib_dir.parent()?;
    if let Ok(py) = std::fs::read_to_string(root.join("version.py")) {
        let v = py
            .lines()
            .find_map(|l| l.strip_prefix("__version__ = "))
            .map(|v| v.trim().trim_matches(['\'', '"']).to_string());
        if v.is_some() {
            return v;
        }
    }
    std::fs::read_to_string(root.join("build-version"))
        .ok()
        .map(|v| v.trim().to_string())
}

/// The CPU's model name from /proc/cpuinfo (None where there is none).
pub fn cpu_model() -> Option<String> {
    std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    })
}

fn cpu_capability() -> String {
    if let Ok(v) = std::env::var("ATEN_CPU_CAPABILITY") {
        if !v.is_empty() {
            return v;
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
        {
            return "avx512".into();
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return "avx2".into();
        }
    }
    "default".into()
}

/// Now, UTC, as RFC 3339 to the second.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic Gregorian
/// calendar; days to civil date after Howard Hinnant's `civil_from_days`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_867_199), "2026-11-28T11:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn versions_decode() {
        assert_eq!(version_number(12080, 1000, 10).as_deref(), Some("12.8"));
        assert_eq!(cudnn_version(91002).as_deref(), Some("9.10.2"));
        assert_eq!(cudnn_version(0), None);
    }

    #[test]
    fn a_cpu_run_records_this_machine_and_libtorch() {
        let e = Environment::capture(Device::Cpu);
        assert_eq!(e.device, e.cpu);
        assert_eq!(e.driver, None);
        assert_eq!(e.cuda, None);
        assert_eq!(e.date.len(), 20, "{}", e.date);
        // The PyPI wheel's version (2.11.0, or 2.11.0+cpu and the like).
        let v = e
            .libtorch
            .expect("libtorch's version beside libtorch_cpu.so");
        assert!(v.starts_with("2."), "{v}");
    }
}
