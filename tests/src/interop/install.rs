//! Installing the official SDKs, pinned, into a cache under the build
//! directory (`target/interop/`).
//!
//! Each install is done once per content of its pin file (the npm lockfile,
//! the pip requirements) and tool version, recorded in a stamp file next to
//! it. Test binaries run in parallel, so the whole check-and-install holds
//! an exclusive `flock` on `target/interop/.lock`; inside one binary a
//! `OnceLock` makes the other tests wait for the first.
//!
//! A failed install (most likely: the package registry cannot be reached)
//! fails the test with the installer's output. It never skips: a green run
//! always means both SDKs really ran.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The longest one installer command may take before the test fails.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// Where `tests/interop/` is: the apps and their pin files.
pub fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// The installed official Node SDK: the `node_modules` folder that holds
/// `@nitric/sdk`, for `NODE_PATH`. Installs it on first use.
pub fn node_modules() -> &'static Path {
    installed(try_node_modules())
}

/// Like [`node_modules`], but a failed install is returned, not a panic
/// (the benchmark reports an SDK it cannot install and goes on).
pub fn try_node_modules() -> &'static Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED.get_or_init(|| with_cache_lock(install_node))
}

/// The Python interpreter of a virtual environment holding the official
/// Python SDK. Installs it on first use.
pub fn python() -> &'static Path {
    installed(try_python())
}

/// Like [`python`], but a failed install is returned, not a panic.
pub fn try_python() -> &'static Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED.get_or_init(|| with_cache_lock(install_python))
}

/// The installed path, or the test fails with why the install failed (the
/// failure is kept: the other tests of this binary fail the same way
/// without trying again).
fn installed(outcome: &'static Result<PathBuf, String>) -> &'static Path {
    match outcome {
        Ok(path) => path,
        Err(error) => panic!("{error}"),
    }
}

/// `target/interop/`, found from the running test binary
/// (`target/<profile>/deps/<test>`): the nearest folder above it that
/// Cargo marked with `CACHEDIR.TAG`.
pub fn cache_root() -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the running test binary");
    let target = exe
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .or_else(|| exe.ancestors().nth(3))
        .expect("the build directory above the test binary");
    target.join("interop")
}

fn with_cache_lock<T>(install: impl FnOnce(&Path) -> Result<T, String>) -> Result<T, String> {
    let root = cache_root();
    fs::create_dir_all(&root)
        .map_err(|error| format!("cannot create {}: {error}", root.display()))?;
    let lock_path = root.join(".lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| format!("cannot open {}: {error}", lock_path.display()))?;
    loop {
        // SAFETY: flock(2) on a descriptor this function owns; closing the
        // file (dropping `lock`) releases it.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } == 0 {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("cannot lock {}: {error}", lock_path.display()));
        }
    }
    let installed = install(&root);
    drop(lock);
    installed
}

fn install_node(root: &Path) -> Result<PathBuf, String> {
    let node = tool_version("node", &["--version"], "Node.js 18 or newer (with npm)")?;
    let npm = tool_version("npm", &["--version"], "npm (it comes with Node.js)")?;
    let source = sources().join("node");
    let manifest = read(&source.join("package.json"))?;
    let lockfile = read(&source.join("package-lock.json"))?;
    let dir = root.join("node");
    let node_modules = dir.join("node_modules");
    let stamp = format!("node {node}\nnpm {npm}\n{manifest}\n{lockfile}");
    if is_current(&dir, &stamp) {
        return Ok(node_modules);
    }
    fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let _ = fs::remove_dir_all(&node_modules);
    let log = fresh_log(&dir)?;
    copy(&source.join("package.json"), &dir.join("package.json"))?;
    copy(
        &source.join("package-lock.json"),
        &dir.join("package-lock.json"),
    )?;
    run(
        Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--fetch-retries=1",
                "--fetch-timeout=60000",
            ])
            .current_dir(&dir),
        &log,
        "installing the official Node SDK (@nitric/sdk, pinned in tests/interop/node/package-lock.json) with `npm ci`",
    )?;
    if !node_modules.join("@nitric/sdk/package.json").is_file() {
        return Err(format!(
            "`npm ci` succeeded but {} has no @nitric/sdk",
            node_modules.display()
        ));
    }
    stamp_installed(&dir, &stamp)?;
    Ok(node_modules)
}

fn install_python(root: &Path) -> Result<PathBuf, String> {
    let interpreter = python_interpreter()?;
    let version = tool_version(&interpreter, &["--version"], "Python 3.11 or newer")?;
    let requirements_path = sources().join("python/requirements.txt");
    let requirements = read(&requirements_path)?;
    let dir = root.join("python");
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let stamp = format!("{interpreter} {version}\n{requirements}");
    if is_current(&dir, &stamp) && python.is_file() {
        return Ok(python);
    }
    fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let _ = fs::remove_dir_all(&venv);
    let log = fresh_log(&dir)?;
    run(
        Command::new(&interpreter).arg("-m").arg("venv").arg(&venv),
        &log,
        &format!("creating a Python virtual environment with `{interpreter} -m venv`"),
    )?;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--retries",
                "1",
                "--timeout",
                "60",
                "-r",
            ])
            .arg(&requirements_path),
        &log,
        "installing the official Python SDK (nitric, pinned in tests/interop/python/requirements.txt) with pip",
    )?;
    stamp_installed(&dir, &stamp)?;
    Ok(python)
}

/// `$NITRIC_INTEROP_PYTHON`, else the first of `python3.11`, `python3` that
/// runs and is at least 3.11 (the SDK's `Requires-Python`).
fn python_interpreter() -> Result<String, String> {
    if let Ok(chosen) = std::env::var("NITRIC_INTEROP_PYTHON") {
        return Ok(chosen);
    }
    for candidate in ["python3.11", "python3"] {
        let fits = Command::new(candidate)
            .args(["-c", "import sys; sys.exit(sys.version_info < (3, 11))"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if fits {
            return Ok(candidate.to_owned());
        }
    }
    Err(
        "the interop tests need Python 3.11 or newer (python3.11 or python3 on PATH, \
         or NITRIC_INTEROP_PYTHON naming one) to run the official Nitric Python SDK"
            .to_owned(),
    )
}

fn tool_version(tool: &str, args: &[&str], what: &str) -> Result<String, String> {
    let output = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| {
            format!("the interop tests need {what} to run the official Nitric SDKs: `{tool}` cannot be started: {error}")
        })?;
    if !output.status.success() {
        return Err(format!(
            "the interop tests need {what}: `{tool} {}` failed with {}",
            args.join(" "),
            output.status
        ));
    }
    // `python --version` wrote to stderr before 3.4; take whichever has it.
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    Ok(String::from_utf8_lossy(&text).trim().to_owned())
}

/// `dir/install.log`, emptied: it gets this install's output only.
fn fresh_log(dir: &Path) -> Result<PathBuf, String> {
    let log = dir.join("install.log");
    File::create(&log).map_err(|error| format!("cannot create {}: {error}", log.display()))?;
    Ok(log)
}

fn is_current(dir: &Path, stamp: &str) -> bool {
    fs::read_to_string(dir.join(".installed")).is_ok_and(|installed| installed == stamp)
}

fn stamp_installed(dir: &Path, stamp: &str) -> Result<(), String> {
    let path = dir.join(".installed");
    fs::write(&path, stamp).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to).map(drop).map_err(|error| {
        format!(
            "cannot copy {} to {}: {error}",
            from.display(),
            to.display()
        )
    })
}

/// Runs `command` with its output appended to `log`; on failure or after
/// [`INSTALL_TIMEOUT`], an error saying what was attempted, with the end of
/// the log.
fn run(command: &mut Command, log: &Path, what: &str) -> Result<(), String> {
    let log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|error| format!("cannot open {}: {error}", log.display()))?;
    let errors = log_file
        .try_clone()
        .map_err(|error| format!("cannot open {}: {error}", log.display()))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(errors)
        .spawn()
        .map_err(|error| format!("{what}: cannot start the installer: {error}"))?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(error) => return Err(format!("{what}: cannot wait for the installer: {error}")),
        }
    };
    match status {
        Some(status) if status.success() => Ok(()),
        outcome => {
            let ended = match outcome {
                Some(status) => format!("failed ({status})"),
                None => format!("did not finish within {INSTALL_TIMEOUT:?}"),
            };
            Err(format!(
                "{what} {ended}. The interop tests install the official SDKs from the npm registry \
                 and PyPI into {}; check that those registries can be reached from this machine. \
                 Last lines of {}:\n{}",
                cache_root().display(),
                log.display(),
                tail(log, 30)
            ))
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
