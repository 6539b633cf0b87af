//! The store: a directory, like a git repository, that holds everything `audience` knows.
//!
//! Owns the layout (`store.json`, `identity/`, `profiles/`, `segments/`, `models/`, `exports/`),
//! the format-version check, and **the one helper through which every file is written**:
//! [`write_atomic`] (temp file, fsync, rename, fsync of the directory). A crash or an error in the
//! middle of a write leaves the previous file in place. Replacing a whole directory of derived
//! tables goes through [`Store::replace_dir`], which builds the new directory aside and swaps it in.
//!
//! It does not own what is inside the files: the id map lives in [`crate::idmap`], the bitmap index
//! in [`crate::index`], segments in their own module.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};

/// The store format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The file at the root of every store.
pub const STORE_FILE: &str = "store.json";

/// Counts kept in `store.json`, refreshed by the commands that change them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    /// Profiles (pids) assigned so far.
    pub profiles: u64,
    /// Traits in the bitmap index.
    pub traits: u64,
    /// Stored segments.
    pub segments: u64,
    /// Trained models.
    pub models: u64,
}

/// The content of `store.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreMeta {
    /// Format version; a reader refuses a store of another version.
    pub format_version: u32,
    /// When `audience init` ran (UTC, ISO 8601).
    pub created: String,
    /// When anything was last written (UTC, ISO 8601).
    pub updated: String,
    /// Counts of what the store holds.
    pub counts: Counts,
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    meta: StoreMeta,
}

const SUBDIRS: [&str; 5] = ["identity", "profiles", "segments", "models", "exports"];

impl Store {
    /// Creates a new, empty store at `dir` (created if needed). Refuses a directory that already
    /// holds a store.
    pub fn init(dir: impl AsRef<Path>) -> Result<Store> {
        let root = dir.as_ref().to_path_buf();
        if root.join(STORE_FILE).exists() {
            return Err(Error::user(format!(
                "{} already holds a store; open it with --store {} or pick another directory",
                root.display(),
                root.display()
            )));
        }
        for sub in SUBDIRS {
            fs::create_dir_all(root.join(sub)).at(root.join(sub))?;
        }
        let now = now_iso();
        let meta = StoreMeta {
            format_version: FORMAT_VERSION,
            created: now.clone(),
            updated: now,
            counts: Counts::default(),
        };
        let store = Store { root, meta };
        store.write_meta()?;
        Ok(store)
    }

    /// Opens the store at `dir`, checking its format version.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let root = dir.as_ref().to_path_buf();
        let file = root.join(STORE_FILE);
        if !file.exists() {
            return Err(Error::user(format!(
                "no store at {}: create one with `audience init {}`, or point to an existing one \
                 with --store DIR or AUDIENCE_STORE",
                root.display(),
                root.display()
            )));
        }
        let bytes = fs::read(&file).at(&file)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::user(format!(
                "{} is corrupt ({e}); restore it from a backup or re-create the store",
                file.display()
            ))
        })?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(FORMAT_VERSION as u64) {
            return Err(Error::user(format!(
                "{} has store format version {}, but this build of audience reads version {}: \
                 use the audience release that wrote it, or re-create the store with \
                 `audience init` and import again",
                file.display(),
                version.map_or("(none)".to_string(), |v| v.to_string()),
                FORMAT_VERSION
            )));
        }
        let meta: StoreMeta = serde_json::from_value(value).map_err(|e| {
            Error::user(format!("{} is corrupt ({e}); re-create the store", file.display()))
        })?;
        Ok(Store { root, meta })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of `rel` inside the store.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// The content of `store.json`.
    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// Changes the counts and rewrites `store.json` atomically.
    pub fn update_counts(&mut self, f: impl FnOnce(&mut Counts)) -> Result<()> {
        f(&mut self.meta.counts);
        self.meta.updated = now_iso();
        self.write_meta()
    }

    fn write_meta(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| Error::internal(format!("serialising store.json: {e}")))?;
        write_atomic(self.root.join(STORE_FILE), |w| w.write_all(&json).at(STORE_FILE))
    }

    /// Writes `rel` atomically through `fill`; see [`write_atomic`].
    pub fn write_file(
        &self,
        rel: impl AsRef<Path>,
        fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
    ) -> Result<()> {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        write_atomic(path, fill)
    }

    /// Writes `value` as pretty JSON to `rel`, atomically.
    pub fn write_json<T: Serialize>(&self, rel: impl AsRef<Path>, value: &T) -> Result<()> {
        let json = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::internal(format!("serialising {}: {e}", rel.as_ref().display())))?;
        let rel = rel.as_ref().to_path_buf();
        self.write_file(&rel, |w| w.write_all(&json).at(&rel))
    }

    /// Reads `rel`, with an error that names the file when it is missing.
    pub fn read_file(&self, rel: impl AsRef<Path>) -> Result<Vec<u8>> {
        let path = self.path(rel);
        fs::read(&path).at(&path)
    }

    /// Replaces the directory `rel` as a whole: `build` fills a fresh staging directory (through
    /// [`write_atomic`] on paths under the directory it is given); only when it succeeds is the old
    /// directory swapped out. On error the old directory is untouched and the staging one removed.
    pub fn replace_dir(
        &self,
        rel: impl AsRef<Path>,
        build: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let target = self.path(rel.as_ref());
        let name = target
            .file_name()
            .ok_or_else(|| Error::internal("replace_dir needs a named directory"))?
            .to_string_lossy()
            .to_string();
        let parent = target.parent().unwrap_or(&self.root).to_path_buf();
        let staging = parent.join(format!(".{name}.staging"));
        let old = parent.join(format!(".{name}.old"));
        if staging.exists() {
            fs::remove_dir_all(&staging).at(&staging)?;
        }
        fs::create_dir_all(&staging).at(&staging)?;
        if let Err(e) = build(&staging) {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        if old.exists() {
            fs::remove_dir_all(&old).at(&old)?;
        }
        if target.exists() {
            fs::rename(&target, &old).at(&target)?;
        }
        fs::rename(&staging, &target).at(&staging)?;
        sync_dir(&parent);
        if old.exists() {
            fs::remove_dir_all(&old).at(&old)?;
        }
        Ok(())
    }
}

/// The one helper that writes a file: `fill` writes into an [`AtomicFile`] for `path`, which is
/// committed if `fill` succeeds. If `fill` fails, the temporary file is removed and `path` keeps
/// its old content.
pub fn write_atomic(
    path: impl AsRef<Path>,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    fill(file.writer())?;
    file.commit()
}

/// A file written in a stream and published atomically. It writes into a temporary file beside
/// `path`; [`AtomicFile::commit`] flushes, fsyncs and renames it over `path`, then fsyncs the
/// directory. Dropped without a commit, it removes the temporary file and `path` keeps its old
/// content.
///
/// A `path` that is a device or a pipe (`/dev/stdout`, `/dev/null`) is written in place: a file
/// renamed over it would replace the device itself (as root, `/dev/null` would become a plain
/// file, which every program reading it then sees). A symbolic link keeps its link: the file it
/// names is replaced.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    /// The temporary file; `None` when `path` is written in place.
    tmp: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file for `path` (whose directory must exist), or opens a device or
    /// pipe `path` for writing in place.
    pub fn create(path: impl AsRef<Path>) -> Result<AtomicFile> {
        let mut path = path.as_ref().to_path_buf();
        let writer = |file| Some(BufWriter::with_capacity(1 << 20, file));
        if fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = fs::OpenOptions::new().write(true).open(&path).at(&path)?;
            return Ok(AtomicFile { writer: writer(file), path, tmp: None });
        }
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            path = fs::canonicalize(&path).at(&path)?;
        }
        let name = path
            .file_name()
            .ok_or_else(|| Error::internal(format!("{} has no file name", path.display())))?
            .to_string_lossy()
            .to_string();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&tmp).at(&tmp)?;
        Ok(AtomicFile { path, tmp: Some(tmp), writer: writer(file) })
    }

    /// The writer into the temporary file.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("an AtomicFile is written only before its commit")
    }

    /// Flushes, fsyncs and renames the temporary file over the target (a device or pipe written
    /// in place is only flushed).
    pub fn commit(mut self) -> Result<()> {
        let w = self.writer.take().expect("committed once");
        let Some(tmp) = self.tmp.take() else {
            return w.into_inner().map(drop).map_err(|e| Error::io(&self.path, e.into_error()));
        };
        let result = (|| {
            let file = w.into_inner().map_err(|e| Error::io(&tmp, e.into_error()))?;
            file.sync_all().at(&tmp)?;
            fs::rename(&tmp, &self.path).at(&self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            return result;
        }
        let dir =
            self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        sync_dir(dir);
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let (Some(_), Some(tmp)) = (self.writer.take(), &self.tmp) {
            let _ = fs::remove_file(tmp);
        }
    }
}

fn sync_dir(dir: &Path) {
    // Best effort: some file systems refuse to open directories for syncing.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Now, as UTC ISO 8601 (`2026-11-29T06:30:00Z`).
pub fn now_iso() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    iso_from_unix(secs as i64)
}

/// Formats unix seconds as UTC ISO 8601.
pub fn iso_from_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn init_then_open_round_trips_and_refuses_a_second_init() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        assert_eq!(s.meta().format_version, FORMAT_VERSION);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.meta().counts, Counts::default());
        let err = Store::init(dir.path()).unwrap_err();
        assert!(err.is_user() && err.to_string().contains("already holds a store"));
    }

    #[test]
    fn version_mismatch_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        Store::init(dir.path()).unwrap();
        let f = dir.path().join(STORE_FILE);
        let text = fs::read_to_string(&f)
            .unwrap()
            .replace("\"format_version\": 1", "\"format_version\": 99");
        fs::write(&f, text).unwrap();
        let err = Store::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("version 99") && err.contains("reads version 1"), "{err}");
    }

    #[test]
    fn missing_store_names_the_init_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(dir.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("audience init"), "{err}");
    }

    #[test]
    fn failed_write_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        write_atomic(&p, |w| w.write_all(b"old").at("f")).unwrap();
        let err = write_atomic(&p, |w| {
            w.write_all(b"half").at("f")?;
            Err(Error::internal("simulated crash"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp file must be removed");
    }

    #[test]
    fn a_pipe_is_written_in_place_and_a_link_keeps_its_link() {
        let dir = tempfile::tempdir().unwrap();
        // A pipe (as `--out /dev/stdout` is under `| head`): renamed over, it would be gone.
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let reader = {
                let fifo = fifo.clone();
                std::thread::spawn(move || fs::read(fifo).unwrap())
            };
            write_atomic(&fifo, |w| w.write_all(b"id,cluster\n").at("pipe")).unwrap();
            // Before the join: a file renamed over the pipe would leave the reader waiting.
            assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
            assert_eq!(reader.join().unwrap(), b"id,cluster\n");
        } else {
            eprintln!("skipping the pipe half: no mkfifo here");
        }
        let target = dir.path().join("target.csv");
        let link = dir.path().join("link.csv");
        fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, |w| w.write_all(b"new").at("link")).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn failed_replace_dir_keeps_the_old_directory() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path()).unwrap();
        s.replace_dir("profiles", |d| write_atomic(d.join("a"), |w| w.write_all(b"1").at("a")))
            .unwrap();
        let r = s.replace_dir("profiles", |d| {
            write_atomic(d.join("a"), |w| w.write_all(b"2").at("a"))?;
            Err(Error::user("bad row"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read(s.path("profiles/a")).unwrap(), b"1");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1000, 0, 59, 365, 10_000, 20_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(iso_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }
}
