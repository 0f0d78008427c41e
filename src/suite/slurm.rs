//! Running a plan ([`super::plan`]) on a Slurm cluster: one job array over the plan's
//! unfinished runs (several arrays where the cluster's `MaxArraySize` is smaller than the
//! plan), and a merge job that writes the report once every task has succeeded.
//!
//! Each task runs `rethink run --plan P --index I` under `srun`, which Slurm signals when the
//! task reaches its time limit (`--signal`, [`SIGNAL_GRACE_S`] before it) or is preempted.
//! `rethink` then saves a checkpoint at its last epoch boundary and exits with
//! [`REQUEUE_STATUS`]; the batch script requeues the task (`scontrol requeue`), and the
//! requeued task resumes from the checkpoint. A task that exits on its own during the grace
//! period would otherwise be recorded as failed and not requeued.
//!
//! The merge job depends on every task (`afterok`) with `--kill-on-invalid-dep=yes`: one
//! failed task cancels it, rather than leaving it pending for ever.
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The exit status of `rethink run` stopped by SIGTERM with its checkpoint saved: "requeue
/// me". (75 is `EX_TEMPFAIL`: a temporary failure, to be retried.)
pub const REQUEUE_STATUS: i32 = 75;

/// How long before its time limit a task is sent SIGTERM: time to finish the current SGD
/// step and write a checkpoint.
pub const SIGNAL_GRACE_S: u32 = 120;

/// Slurm's default `MaxArraySize`: array task ids are below it.
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// What each task asks of Slurm, and what `sbatch` is given besides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// GPUs per run (`--gres=gpu:N`); 0 asks for none.
    pub gpus_per_run: u32,
    /// CPUs per run (`--cpus-per-task`), also libtorch's thread count in the run.
    pub cpus_per_run: u32,
    /// Memory per run, as sbatch's `--mem` takes it (`16G`).
    pub mem: Option<String>,
    /// Time limit per run, as sbatch's `--time` takes it (`2:00:00`).
    pub time: Option<String>,
    /// At most this many tasks of an array at once (`--array=...%N`).
    pub max_parallel: Option<u32>,
    /// Passed to every `sbatch` as they are (`--account=lab`, `--qos=long`).
    pub sbatch_args: Vec<String>,
}

/// How a task starts `rethink`: the binary (on a filesystem every node sees) and the flags
/// that say where and how a run trains (`--device`, `--data-dir`), which a plan leaves out.
#[derive(Debug, Clone)]
pub struct Launch {
    pub exe: PathBuf,
    /// libtorch's threads per run (`--threads`).
    pub threads: u32,
    pub run_flags: Vec<String>,
}

/// A batch script written for `sbatch`, and the arguments it is submitted with.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    /// `sbatch`'s arguments, the script last (a merge job's dependency is added on submit).
    pub sbatch: Vec<String>,
    /// The plan indices its tasks run (empty for the merge job): task id plus `offset`.
    pub indices: Vec<usize>,
    pub offset: usize,
}

/// The pending plan indices split into arrays whose task ids (index minus the array's
/// offset) stay below `max_array_size`: (offset, task ids).
pub fn split(pending: &[usize], max_array_size: usize) -> Vec<(usize, Vec<usize>)> {
    let size = max_array_size.max(1);
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for &i in pending {
        let offset = i / size * size;
        match out.last_mut() {
            Some((o, ids)) if *o == offset => ids.push(i - offset),
            _ => out.push((offset, vec![i - offset])),
        }
    }
    out
}

/// Task ids as sbatch's `--array` takes them, runs of consecutive ids as ranges: `0-3,5,7-8`,
/// with `%N` when at most N may run at once.
pub fn array_spec(ids: &[usize], max_parallel: Option<u32>) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    let mut spec = parts.join(",");
    if let Some(n) = max_parallel {
        spec.push_str(&format!("%{n}"));
    }
    spec
}

/// A word quoted for bash.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
    {
        s.into()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::fsio::write_atomic(path, text.as_bytes())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(path, "cannot make executable", e))
}

/// The folder of a plan's Slurm scripts and logs: `OUT/slurm`.
pub fn slurm_dir(out: &Path) -> PathBuf {
    out.join("slurm")
}

/// Writes the array scripts for the plan's `pending` indices and the merge job's script
/// into `OUT/slurm`, and returns them in submission order (the merge job last).
pub fn write_scripts(
    plan: &Path,
    pending: &[usize],
    launch: &Launch,
    opts: &SlurmOptions,
    max_array_size: usize,
) -> Result<Vec<Script>> {
    let out = super::plan::results_dir(plan);
    let dir = slurm_dir(&out);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, "cannot create directory", e))?;
    let exe = quote(&launch.exe.to_string_lossy());
    let run_flags: Vec<String> = launch.run_flags.iter().map(|f| quote(f)).collect();
    let cpus = opts.cpus_per_run.max(1);
    let mut common = Vec::new();
    if let Some(p) = &opts.partition {
        common.push(format!("--partition={p}"));
    }
    let mut scripts = Vec::new();
    for (k, (offset, ids)) in split(pending, max_array_size).into_iter().enumerate() {
        let path = dir.join(format!("array-{k}.sh"));
        let text = format!(
            r#"#!/bin/bash
# Written by rethink reproduce --executor slurm: plan runs {offset} + task id, of {plan}.
# A task stopped by SIGTERM (its time limit or a preemption) saves a checkpoint and exits
# {status}; it is then requeued, and resumes from that checkpoint.
set -u
index=$(( {offset} + SLURM_ARRAY_TASK_ID ))
echo "rethink: plan run $index, task ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}, restart ${{SLURM_RESTART_COUNT:-0}}, on $(hostname), GPUs ${{CUDA_VISIBLE_DEVICES:-none}}"
srun --ntasks=1 {exe} --threads {threads} run --plan {plan_q} --index "$index" --quiet {flags}
status=$?
if [ "$status" -eq {status} ]; then
  echo "rethink: plan run $index stopped with its checkpoint saved; requeueing it"
  scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}" && exit 0
  echo "rethink: scontrol requeue failed; the run resumes when this plan is submitted again"
fi
exit "$status"
"#,
            plan = plan.display(),
            plan_q = quote(&plan.to_string_lossy()),
            status = REQUEUE_STATUS,
            threads = launch.threads.max(1),
            flags = run_flags.join(" "),
        );
        write_script(&path, &text)?;
        let mut sbatch = vec![
            "--parsable".to_string(),
            format!("--job-name=rethink-runs-{k}"),
            format!("--array={}", array_spec(&ids, opts.max_parallel)),
            "--requeue".into(),
            format!("--signal=TERM@{SIGNAL_GRACE_S}"),
            "--open-mode=append".into(),
            format!("--output={}", logs.join("%A_%a.out").display()),
            "--ntasks=1".into(),
            format!("--cpus-per-task={cpus}"),
        ];
        if opts.gpus_per_run > 0 {
            sbatch.push(format!("--gres=gpu:{}", opts.gpus_per_run));
        }
        if let Some(m) = &opts.mem {
            sbatch.push(format!("--mem={m}"));
        }
        if let Some(t) = &opts.time {
            sbatch.push(format!("--time={t}"));
        }
        sbatch.extend(common.iter().cloned());
        sbatch.extend(opts.sbatch_args.iter().cloned());
        sbatch.push(path.to_string_lossy().into_owned());
        scripts.push(Script {
            path,
            sbatch,
            indices: ids.iter().map(|i| i + offset).collect(),
            offset,
        });
    }
    let path = dir.join("merge.sh");
    let text = format!(
        r#"#!/bin/bash
# Written by rethink reproduce --executor slurm: once every run of the plan has finished,
# the report over all of them (the runs are already in one folder, {out}/runs).
set -eu
{exe} report {out_q}
"#,
        out = out.display(),
        out_q = quote(&out.to_string_lossy()),
    );
    write_script(&path, &text)?;
    let mut sbatch = vec![
        "--parsable".to_string(),
        "--job-name=rethink-merge".into(),
        format!("--output={}", logs.join("merge-%j.out").display()),
        "--ntasks=1".into(),
        "--cpus-per-task=1".into(),
        "--kill-on-invalid-dep=yes".into(),
    ];
    sbatch.extend(common);
    sbatch.extend(opts.sbatch_args.iter().cloned());
    sbatch.push(path.to_string_lossy().into_owned());
    scripts.push(Script {
        path,
        sbatch,
        indices: Vec::new(),
        offset: 0,
    });
    Ok(scripts)
}

/// The dependency flag that holds the merge job until every array has succeeded.
pub fn after_ok(array_ids: &[String]) -> String {
    format!("--dependency=afterok:{}", array_ids.join(":"))
}

/// Runs a Slurm command and returns its standard output; a failure names the command and
/// what it printed.
fn slurm(cmd: &str, args: &[String]) -> Result<String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| {
        Error::Slurm(format!(
            "cannot run {cmd}: {e} (is Slurm's client installed, and SLURM_CONF set?)"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Slurm(format!(
            "{cmd} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits `script` with `extra` arguments before its own; returns the job id.
pub fn submit(script: &Script, extra: &[String]) -> Result<String> {
    let mut args: Vec<String> = extra.to_vec();
    args.extend(script.sbatch.iter().cloned());
    let out = slurm("sbatch", &args)?;
    // --parsable prints `id` or `id;cluster`.
    let id = out.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Slurm(format!(
            "sbatch printed {:?}, not a job id",
            out.trim()
        )));
    }
    Ok(id)
}

/// Whether this machine has a Slurm configuration to read: `$SLURM_CONF`, else
/// `/etc/slurm/slurm.conf`. (Slurm's commands wait a minute for a missing one.)
pub fn configured() -> bool {
    std::env::var_os("SLURM_CONF").map_or_else(
        || Path::new("/etc/slurm/slurm.conf").is_file(),
        |c| Path::new(&c).is_file(),
    )
}

/// The cluster's `MaxArraySize` (Slurm's default when `scontrol` does not say).
pub fn max_array_size() -> Result<usize> {
    let conf = slurm("scontrol", &["show".into(), "config".into()])?;
    Ok(conf
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(DEFAULT_MAX_ARRAY_SIZE))
}

/// One job, or one task of an array, as `scontrol show job` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub job_id: String,
    pub array_task: Option<usize>,
    pub state: String,
    pub exit_code: String,
    pub reason: String,
}

/// The state of job `id` (every task of an array job), from `scontrol show job -o`.
pub fn job_states(id: &str) -> Result<Vec<JobState>> {
    let text = slurm(
        "scontrol",
        &["show".into(), "job".into(), "-o".into(), id.into()],
    )?;
    Ok(text.lines().filter_map(parse_job_line).collect())
}

/// One line of `scontrol show job -o`: `Key=Value` pairs.
pub fn parse_job_line(line: &str) -> Option<JobState> {
    let get = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    Some(JobState {
        job_id: get("JobId")?,
        array_task: get("ArrayTaskId").and_then(|t| t.parse().ok()),
        state: get("JobState")?,
        exit_code: get("ExitCode").unwrap_or_default(),
        reason: get("Reason").unwrap_or_default(),
    })
}

/// Whether a job in `state` may still run (pending, running, being requeued...).
pub fn is_active(state: &str) -> bool {
    !matches!(
        state,
        "COMPLETED"
            | "FAILED"
            | "CANCELLED"
            | "TIMEOUT"
            | "NODE_FAIL"
            | "OUT_OF_MEMORY"
            | "BOOT_FAIL"
            | "DEADLINE"
            | "PREEMPTED"
    )
}

/// How many of `ids`' tasks are active (pending, running, requeued), from `squeue`. A job
/// Slurm no longer knows (its record purged after `MinJobAge`) has none.
pub fn active_tasks(ids: &[String]) -> Result<usize> {
    let mut n = 0;
    for id in ids {
        let args: Vec<String> = ["-h", "-r", "-o", "%i %T", "-j", id.as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match slurm("squeue", &args) {
            Ok(out) => n += out.lines().filter(|l| !l.trim().is_empty()).count(),
            Err(Error::Slurm(e)) if e.contains("Invalid job id") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_runs_split_into_arrays_below_the_limit_with_compact_specs() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 5, 7, 8], None), "0-3,5,7-8");
        assert_eq!(array_spec(&[4], Some(2)), "4%2");
        let parts = split(&[0, 1, 999, 1000, 1001, 2500], 1000);
        assert_eq!(
            parts,
            vec![(0, vec![0, 1, 999]), (1000, vec![0, 1]), (2000, vec![500])]
        );
        // Every task id is below the limit, and offset + id gives back every index.
        let pending: Vec<usize> = (0..5000).filter(|i| i % 7 != 3).collect();
        let parts = split(&pending, DEFAULT_MAX_ARRAY_SIZE);
        assert!(parts
            .iter()
            .all(|(_, ids)| ids.iter().all(|&t| t < DEFAULT_MAX_ARRAY_SIZE)));
        let back: Vec<usize> = parts
            .iter()
            .flat_map(|(o, ids)| ids.iter().map(move |t| t + o))
            .collect();
        assert_eq!(back, pending);
    }

    #[test]
    fn scripts_run_each_task_under_srun_and_requeue_on_the_requeue_status() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan.jsonl");
        let launch = Launch {
            exe: "/shared/bin/rethink".into(),
            threads: 4,
            run_flags: vec!["--device".into(), "cuda".into()],
        };
        let opts = SlurmOptions {
            partition: Some("gpu".into()),
            gpus_per_run: 1,
            cpus_per_run: 4,
            time: Some("1:00:00".into()),
            max_parallel: Some(8),
            sbatch_args: vec!["--account=lab".into()],
            ..SlurmOptions::default()
        };
        let scripts = write_scripts(&plan, &[0, 1, 2, 5, 1200], &launch, &opts, 1001).unwrap();
        assert_eq!(scripts.len(), 3, "two arrays and the merge job");
        let a = &scripts[0];
        assert_eq!(a.indices, vec![0, 1, 2, 5]);
        for want in [
            "--array=0-2,5%8",
            "--requeue",
            "--signal=TERM@120",
            "--gres=gpu:1",
            "--cpus-per-task=4",
            "--time=1:00:00",
            "--partition=gpu",
            "--account=lab",
        ] {
            assert!(a.sbatch.iter().any(|s| s == want), "{want}: {:?}", a.sbatch);
        }
        let text = std::fs::read_to_string(&a.path).unwrap();
        assert!(
            text.contains("index=$(( 0 + SLURM_ARRAY_TASK_ID ))"),
            "{text}"
        );
        assert!(text.contains("srun --ntasks=1 /shared/bin/rethink --threads 4 run --plan"));
        assert!(text.contains("--device cuda"));
        assert!(text.contains("-eq 75 ]"));
        assert!(text.contains("scontrol requeue"));
        assert_eq!(scripts[1].indices, vec![1200]);
        assert!(std::fs::read_to_string(&scripts[1].path)
            .unwrap()
            .contains("index=$(( 1001 + SLURM_ARRAY_TASK_ID ))"));
        let merge = &scripts[2];
        assert!(merge
            .sbatch
            .iter()
            .any(|s| s == "--kill-on-invalid-dep=yes"));
        assert!(std::fs::read_to_string(&merge.path)
            .unwrap()
            .contains("/shared/bin/rethink report"));
        assert_eq!(
            after_ok(&["12".into(), "13".into()]),
            "--dependency=afterok:12:13"
        );
        // Bash syntax of every script.
        for s in &scripts {
            let ok = std::process::Command::new("bash")
                .arg("-n")
                .arg(&s.path)
                .status()
                .unwrap();
            assert!(ok.success(), "{}", s.path.display());
        }
    }

    #[test]
    fn scontrol_lines_parse_into_states() {
        let line = "JobId=2 ArrayJobId=1 ArrayTaskId=0 JobName=t.sh UserId=root(0) JobState=PENDING Reason=BeginTime Dependency=(null) Requeue=1 Restarts=1 ExitCode=0:0 RunTime=00:00:00";
        let s = parse_job_line(line).unwrap();
        assert_eq!(s.job_id, "2");
        assert_eq!(s.array_task, Some(0));
        assert_eq!(s.state, "PENDING");
        assert_eq!(s.reason, "BeginTime");
        assert!(is_active(&s.state));
        assert!(!is_active("CANCELLED"));
    }
}
