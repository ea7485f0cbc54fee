//! Listing the input files of a folder: article folders (recursively),
//! a locale's Fluent files and the digest's template overrides (one level).
//! One walk, so every stage agrees on order (sorted by name), on what a
//! hidden entry or a symlinked folder means, and on naming the folder in
//! its errors.
//!
//! A leaf: it lists paths and never opens, reads or judges the files; what
//! a failure means (a problem in the articles, a warning) is the caller's.

use std::io;
use std::path::{Path, PathBuf};

/// How far below the folder to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The folder's own files only; subfolders are not entered or listed.
    Flat,
    /// Subfolders too (symlinked ones included), depth first, each sorted.
    Recursive,
}

/// Whether entries whose name starts with `.` are listed (and, with
/// [`Depth::Recursive`], entered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Left out: editors' and tools' own files (`.git/`, `.draft.md`).
    Skip,
    /// Listed like any other entry.
    Include,
}

/// What a folder that is not there means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An error: the folder was configured and must exist (article sources).
    Error,
    /// No files: the folder is an optional override (a site's `locales/<key>/`
    /// or `templates/`). A path that exists but is not a folder counts as missing.
    Empty,
}

/// Which files of a folder to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing<'a> {
    /// Extensions (without the dot) of the files to list; any one matches.
    pub extensions: &'a [&'a str],
    pub depth: Depth,
    pub hidden: Hidden,
    pub missing: Missing,
}

/// A folder that could not be listed: `dir` is that folder (the one given,
/// or a subfolder of it).
#[derive(Debug, thiserror::Error)]
#[error("cannot read the folder {}: {source}", .dir.display())]
pub struct WalkError {
    pub dir: PathBuf,
    #[source]
    pub source: io::Error,
}

impl Listing<'_> {
    /// Every file under `dir` that this listing selects, sorted by name
    /// within each folder (a subfolder's files where the subfolder sorts).
    pub fn files(&self, dir: &Path) -> Result<Vec<PathBuf>, WalkError> {
        let mut out = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => self.collect(dir, entries, &mut out)?,
            Err(e)
                if self.missing == Missing::Empty
                    && matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) => {}
            Err(source) => {
                return Err(WalkError {
                    dir: dir.to_path_buf(),
                    source,
                });
            }
        }
        Ok(out)
    }

    fn collect(
        &self,
        dir: &Path,
        entries: std::fs::ReadDir,
        out: &mut Vec<PathBuf>,
    ) -> Result<(), WalkError> {
        let error = |source| WalkError {
            dir: dir.to_path_buf(),
            source,
        };
        // The entry's file type usually comes with the listing, so there is
        // no `stat` per file; only a symlink is followed to see what it is.
        let mut paths: Vec<(PathBuf, bool)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(error)?;
            let is_dir = match entry.file_type() {
                Ok(t) if t.is_symlink() => entry.path().is_dir(),
                Ok(t) => t.is_dir(),
                Err(_) => entry.path().is_dir(),
            };
            paths.push((entry.path(), is_dir));
        }
        // Every path is `dir/name`, so comparing the paths' bytes orders
        // them by name, without comparing component by component or keeping
        // a copy of each name.
        paths.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
        for (path, is_dir) in paths {
            let hidden = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_none_or(|n| n.starts_with('.'));
            if hidden && self.hidden == Hidden::Skip {
                continue;
            }
            if is_dir {
                if self.depth == Depth::Recursive {
                    let entries = std::fs::read_dir(&path).map_err(|source| WalkError {
                        dir: path.clone(),
                        source,
                    })?;
                    self.collect(&path, entries, out)?;
                }
            } else if path
                .extension()
                .is_some_and(|e| self.extensions.iter().any(|wanted| e == *wanted))
            {
                out.push(path);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp folder holding `names` (a trailing `/` makes a folder).
    fn tree(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = dir.path().join(name);
            if name.ends_with('/') {
                std::fs::create_dir_all(path).unwrap();
            } else {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "x").unwrap();
            }
        }
        dir
    }

    fn names(dir: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
            .collect()
    }

    const ARTICLES: Listing = Listing {
        extensions: &["md"],
        depth: Depth::Recursive,
        hidden: Hidden::Skip,
        missing: Missing::Error,
    };

    #[test]
    fn collects_matching_files_by_name_recursively_skipping_hidden_entries() {
        let dir = tree(&[
            "b.md",
            "a.zh.md",
            "a.md",
            "B.md",
            "a-b.md",
            ".hidden.md",
            "notes.txt",
            "sub/c.md",
            "sub/.d.md",
            ".git/e.md",
            "z/sub2/f.md",
        ]);
        let files = ARTICLES.files(dir.path()).unwrap();
        assert_eq!(
            names(dir.path(), &files),
            [
                "B.md",
                "a-b.md",
                "a.md",
                "a.zh.md",
                "b.md",
                "sub/c.md",
                "z/sub2/f.md"
            ]
        );
    }

    #[test]
    fn a_flat_listing_keeps_hidden_files_when_asked_and_never_enters_folders() {
        let dir = tree(&[
            "b.ftl",
            ".a.ftl",
            "a.ftl.bak",
            "sub/c.ftl",
            "d.css",
            "e.hbs",
        ]);
        let flat = |extensions, hidden| Listing {
            extensions,
            depth: Depth::Flat,
            hidden,
            missing: Missing::Empty,
        };
        let files = flat(&["ftl"], Hidden::Include).files(dir.path()).unwrap();
        assert_eq!(names(dir.path(), &files), [".a.ftl", "b.ftl"]);
        let files = flat(&["ftl"], Hidden::Skip).files(dir.path()).unwrap();
        assert_eq!(names(dir.path(), &files), ["b.ftl"]);
        let files = flat(&["hbs", "css"], Hidden::Skip)
            .files(dir.path())
            .unwrap();
        assert_eq!(names(dir.path(), &files), ["d.css", "e.hbs"]);
    }

    #[test]
    fn a_missing_folder_is_empty_or_an_error_naming_it() {
        let dir = tree(&["file.md"]);
        let gone = dir.path().join("gone");
        let optional = Listing {
            missing: Missing::Empty,
            ..ARTICLES
        };
        assert!(optional.files(&gone).unwrap().is_empty());
        assert!(
            optional
                .files(&dir.path().join("file.md"))
                .unwrap()
                .is_empty()
        );
        let error = ARTICLES.files(&gone).unwrap_err();
        assert_eq!(error.dir, gone);
        assert_eq!(error.source.kind(), io::ErrorKind::NotFound);
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read the folder {}: ", gone.display())),
            "{error}"
        );
    }
}
