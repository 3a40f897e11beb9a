//! Where workflows come from: the ones shipped inside the binary, and the
//! project's own folder (`workflows.dir`), which overrides a shipped
//! workflow of the same name.

use std::path::{Path, PathBuf};

use crate::config::{Diagnostic, Diagnostics, Origin, did_you_mean};

use super::validate::{self, WorkflowFile};

/// The workflows embedded in the binary, by name.
const SHIPPED: &[(&str, &str)] = &[
    (
        "standard_development",
        include_str!("shipped/standard_development.yaml"),
    ),
    (
        "documentation_only",
        include_str!("shipped/documentation_only.yaml"),
    ),
    (
        "project_planning",
        include_str!("shipped/project_planning.yaml"),
    ),
    ("hotfix", include_str!("shipped/hotfix.yaml")),
];

/// A workflow a user can run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkflowEntry {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Where it comes from: a file, or `shipped`.
    pub origin: String,
    /// Whether it overrides a shipped workflow of the same name.
    pub overrides_shipped: bool,
}

/// The workflows of a project.
#[derive(Debug, Clone)]
pub struct WorkflowLibrary {
    dir: PathBuf,
}

impl WorkflowLibrary {
    /// The library of a project whose own workflows are in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WorkflowLibrary { dir: dir.into() }
    }

    /// The origin label of a shipped workflow.
    pub fn shipped_origin(name: &str) -> PathBuf {
        PathBuf::from(format!("builtin:{name}.yaml"))
    }

    /// Every workflow: the project's, then the shipped ones it does not
    /// override. A project file that does not parse is listed with its
    /// problem as description.
    pub fn list(&self) -> Vec<WorkflowEntry> {
        let mut entries = Vec::new();
        for path in self.project_files() {
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            let (name, description) = match validate::parse(&path, &source) {
                Ok(file) => (file.workflow.name, file.workflow.description),
                Err(diagnostics) => (
                    path.file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or("?")
                        .to_owned(),
                    format!(
                        "(invalid: {} problem(s); `aido workflow validate {}`)",
                        diagnostics.len(),
                        path.display()
                    ),
                ),
            };
            let overrides_shipped = SHIPPED.iter().any(|(shipped, _)| *shipped == name);
            entries.push(WorkflowEntry {
                name,
                description,
                origin: path.display().to_string(),
                overrides_shipped,
            });
        }
        for (name, source) in SHIPPED {
            if entries.iter().any(|e| e.name == *name) {
                continue;
            }
            let description = validate::parse(&Self::shipped_origin(name), source)
                .map(|file| file.workflow.description)
                .unwrap_or_default();
            entries.push(WorkflowEntry {
                name: (*name).to_owned(),
                description,
                origin: "shipped".to_owned(),
                overrides_shipped: false,
            });
        }
        entries
    }

    /// Reads the workflow named `name_or_path`: a file path if one exists,
    /// else a project workflow of that name, else a shipped one.
    pub fn load(&self, name_or_path: &str) -> Result<WorkflowFile, Diagnostics> {
        let as_path = Path::new(name_or_path);
        if as_path.is_file() {
            return read(as_path);
        }
        for path in self.project_files() {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if stem == name_or_path {
                return read(&path);
            }
        }
        for path in self.project_files() {
            if let Ok(file) = read(&path)
                && file.workflow.name == name_or_path
            {
                return Ok(file);
            }
        }
        if let Some((name, source)) = SHIPPED.iter().find(|(name, _)| *name == name_or_path) {
            return validate::parse(&Self::shipped_origin(name), source);
        }
        let names: Vec<String> = self.list().into_iter().map(|e| e.name).collect();
        let mut diagnostic = Diagnostic::new(
            Origin::WholeFile {
                path: PathBuf::from(name_or_path),
            },
            "",
            format!(
                "no workflow file or name `{name_or_path}`; known workflows: {}",
                names.join(", ")
            ),
        );
        if let Some(suggestion) = did_you_mean(name_or_path, names.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
        }
        Err(Diagnostics(vec![diagnostic]))
    }

    fn project_files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        files.sort();
        files
    }
}

/// Reads and parses a workflow file.
pub fn read(path: &Path) -> Result<WorkflowFile, Diagnostics> {
    let source = std::fs::read_to_string(path).map_err(|err| {
        Diagnostics(vec![Diagnostic::new(
            Origin::WholeFile {
                path: path.to_owned(),
            },
            "",
            format!("cannot be read: {err}"),
        )])
    })?;
    validate::parse(path, &source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::develop::{NoAi, all_builtins};

    #[test]
    fn shipped_workflows_are_valid() {
        for (name, source) in SHIPPED {
            let file = validate::parse(&WorkflowLibrary::shipped_origin(name), source)
                .unwrap_or_else(|d| panic!("{name}: {d}"));
            assert_eq!(file.workflow.name, *name);
            let builtins = all_builtins(&Default::default(), std::sync::Arc::new(NoAi));
            let problems = validate::validate(&file, &builtins);
            assert!(problems.is_empty(), "{name}: {problems}");
        }
    }

    #[test]
    fn project_workflows_override_shipped_ones_and_typos_get_suggestions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("docs.yaml"),
            "name: documentation_only\ndescription: ours\nsteps: []\n",
        )
        .unwrap();
        let library = WorkflowLibrary::new(dir.path());
        let listed = library.list();
        assert_eq!(
            listed
                .iter()
                .filter(|e| e.name == "documentation_only")
                .count(),
            1
        );
        assert!(listed[0].overrides_shipped);
        assert_eq!(
            library
                .load("documentation_only")
                .unwrap()
                .workflow
                .description,
            "ours"
        );
        let err = library.load("documentation_onyl").unwrap_err().to_string();
        assert!(err.contains("did you mean `documentation_only`?"), "{err}");
    }
}
