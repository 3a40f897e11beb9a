//! The plugin: repositories, branches, commits, files and pull requests
//! kept in memory (a working copy is only a name here). Replace the bodies
//! with calls to your git host.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use aido_plugin_api::model::vcs::{
    Branch, CloneRequest, Commit, CommitRequest, FileContent, FileRequest, FileUpdate,
    LocalRepository, NewBranch, NewPullRequest, PullRequest, PullRequestQuery, PullRequestState,
    PushRequest, PushResult, RepositoryInfo, RepositoryRef,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginInstance,
    PluginMetadata, Result, VersionControl, async_trait,
};
use chrono::Utc;

use crate::config::{Config, META};

/// The branch a new repository starts with.
const DEFAULT_BRANCH: &str = "main";

/// The plugin, ready to serve.
pub fn instance() -> PluginInstance {
    PluginInstance::VersionControl(Arc::new({{struct}}::default()))
}

/// One repository: its branches' heads and its files by (branch, path).
#[derive(Default)]
struct Repository {
    branches: BTreeMap<String, String>,
    files: BTreeMap<(String, String), String>,
}

/// What the plugin keeps.
#[derive(Default)]
struct State {
    prefix: String,
    counter: u64,
    repositories: HashMap<String, Repository>,
    /// Working copy → (repository, checked-out branch).
    workdirs: HashMap<String, (String, String)>,
    /// Pull requests with their repository.
    pulls: Vec<(String, PullRequest)>,
    /// Idempotency key → the pull request number made under it.
    made: HashMap<String, u64>,
}

impl State {
    /// A fresh commit id (not a real hash: nothing is stored).
    fn sha(&mut self) -> String {
        self.counter += 1;
        format!("{:040x}", self.counter)
    }

    fn repository(&mut self, name: &str) -> &mut Repository {
        if !self.repositories.contains_key(name) {
            let head = self.sha();
            let mut repository = Repository::default();
            repository.branches.insert(DEFAULT_BRANCH.to_owned(), head);
            self.repositories.insert(name.to_owned(), repository);
        }
        self.repositories.entry(name.to_owned()).or_default()
    }

    fn workdir(&self, workdir: &str) -> Result<(String, String)> {
        self.workdirs.get(workdir).cloned().ok_or_else(|| {
            Error::not_found(format!(
                "{workdir} is not a working copy; clone a repository into it first"
            ))
        })
    }
}

/// A git host in memory.
#[derive(Default)]
pub struct {{struct}} {
    state: Mutex<State>,
}

impl {{struct}} {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Plugin for {{struct}} {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        crate::config::problems(config)
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let config: Config = config.parse()?;
        self.state().prefix = config.prefix_or("PR");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn health_check(&self) -> Health {
        Health::Healthy
    }
}

#[async_trait]
impl VersionControl for {{struct}} {
    async fn clone_repository(
        &self,
        _cx: &CallContext,
        input: CloneRequest,
    ) -> Result<LocalRepository> {
        let mut state = self.state();
        let branch = input.branch.unwrap_or_else(|| DEFAULT_BRANCH.to_owned());
        let head = state
            .repository(&input.repository)
            .branches
            .get(&branch)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!("no branch {branch} in {}", input.repository))
            })?;
        state.workdirs.insert(
            input.destination.clone(),
            (input.repository, branch.clone()),
        );
        Ok(LocalRepository {
            workdir: input.destination,
            branch,
            head,
            default_branch: DEFAULT_BRANCH.to_owned(),
        })
    }

    async fn create_branch(&self, _cx: &CallContext, input: NewBranch) -> Result<Branch> {
        let mut state = self.state();
        let (repository, current) = state.workdir(&input.workdir)?;
        let start = input.from.unwrap_or(current);
        let branches = &mut state.repository(&repository).branches;
        let created = !branches.contains_key(&input.branch);
        if created {
            let head = branches
                .get(&start)
                .cloned()
                .ok_or_else(|| Error::not_found(format!("no branch {start} to start from")))?;
            branches.insert(input.branch.clone(), head);
        }
        let commit = branches.get(&input.branch).cloned().unwrap_or_default();
        state
            .workdirs
            .insert(input.workdir, (repository, input.branch.clone()));
        Ok(Branch {
            name: input.branch,
            commit,
            created,
        })
    }

    async fn commit_changes(&self, _cx: &CallContext, input: CommitRequest) -> Result<Commit> {
        let mut state = self.state();
        let (repository, branch) = state.workdir(&input.workdir)?;
        let sha = state.sha();
        state
            .repository(&repository)
            .branches
            .insert(branch, sha.clone());
        Ok(Commit {
            sha,
            message: input.message,
            files: input.files,
        })
    }

    async fn push_branch(&self, _cx: &CallContext, input: PushRequest) -> Result<PushResult> {
        let mut state = self.state();
        let (repository, _) = state.workdir(&input.workdir)?;
        let commit = state
            .repository(&repository)
            .branches
            .get(&input.branch)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!("no branch {} in {}", input.branch, input.workdir))
            })?;
        Ok(PushResult {
            remote: input.remote.unwrap_or_else(|| "origin".to_owned()),
            branch: input.branch,
            commit,
        })
    }

    async fn create_pull_request(
        &self,
        cx: &CallContext,
        input: NewPullRequest,
    ) -> Result<PullRequest> {
        let mut state = self.state();
        if let Some(number) = cx
            .idempotency_key
            .as_ref()
            .and_then(|key| state.made.get(key))
            && let Some((_, pull)) = state.pulls.iter().find(|(_, pull)| pull.number == *number)
        {
            return Ok(pull.clone());
        }
        if !state
            .repository(&input.repository)
            .branches
            .contains_key(&input.source_branch)
        {
            return Err(Error::not_found(format!(
                "no branch {} in {}",
                input.source_branch, input.repository
            )));
        }
        let number = state.pulls.len() as u64 + 1;
        let pull = PullRequest {
            id: format!("{}-{number}", state.prefix),
            number,
            url: format!("memory://{}/pull/{number}", input.repository),
            title: input.title,
            description: input.description,
            source_branch: input.source_branch,
            target_branch: input
                .target_branch
                .unwrap_or_else(|| DEFAULT_BRANCH.to_owned()),
            draft: input.draft,
            state: PullRequestState::Open,
            created: Utc::now(),
        };
        if let Some(key) = &cx.idempotency_key {
            state.made.insert(key.clone(), number);
        }
        state.pulls.push((input.repository, pull.clone()));
        Ok(pull)
    }

    async fn list_pull_requests(
        &self,
        _cx: &CallContext,
        input: PullRequestQuery,
    ) -> Result<Vec<PullRequest>> {
        let state = self.state();
        Ok(state
            .pulls
            .iter()
            .filter(|(repository, pull)| {
                *repository == input.repository
                    && input.state.as_ref().is_none_or(|s| *s == pull.state)
                    && input
                        .source_branch
                        .as_ref()
                        .is_none_or(|b| *b == pull.source_branch)
            })
            .map(|(_, pull)| pull.clone())
            .collect())
    }

    async fn get_repository_info(
        &self,
        _cx: &CallContext,
        input: RepositoryRef,
    ) -> Result<RepositoryInfo> {
        self.state().repository(&input.repository);
        let name = input
            .repository
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(RepositoryInfo {
            name,
            full_name: input.repository.clone(),
            description: None,
            default_branch: DEFAULT_BRANCH.to_owned(),
            url: None,
            clone_url: format!("memory://{}", input.repository),
            private: false,
        })
    }

    async fn get_file_content(&self, _cx: &CallContext, input: FileRequest) -> Result<FileContent> {
        let mut state = self.state();
        let reference = input.reference.unwrap_or_else(|| DEFAULT_BRANCH.to_owned());
        let content = state
            .repository(&input.repository)
            .files
            .get(&(reference.clone(), input.path.clone()))
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no file {} at {reference} in {}",
                    input.path, input.repository
                ))
            })?;
        Ok(FileContent {
            path: input.path,
            content,
            sha: None,
            reference,
        })
    }

    async fn update_file(&self, _cx: &CallContext, input: FileUpdate) -> Result<Commit> {
        let mut state = self.state();
        let branch = input.branch.unwrap_or_else(|| DEFAULT_BRANCH.to_owned());
        let sha = state.sha();
        let repository = state.repository(&input.repository);
        if !repository.branches.contains_key(&branch) {
            return Err(Error::not_found(format!(
                "no branch {branch} in {}",
                input.repository
            )));
        }
        repository
            .files
            .insert((branch.clone(), input.path.clone()), input.content);
        repository.branches.insert(branch, sha.clone());
        Ok(Commit {
            sha,
            message: input.message,
            files: vec![input.path],
        })
    }
}

#[cfg(test)]
mod tests {
    use aido_plugin_api::{CallContext, ErrorKind, PluginConfig, PluginInstance};
    use serde_json::{Value, json};

    use super::instance;

    /// The plugin, connected, called through the action catalog exactly as
    /// aido calls it.
    async fn connected() -> PluginInstance {
        let plugin = instance();
        let config = PluginConfig::new("version_control", json!({}), ".", ".aido");
        plugin.plugin().connect(&config).await.unwrap();
        plugin
    }

    async fn call(plugin: &PluginInstance, action: &str, input: Value) -> Value {
        plugin
            .call(&CallContext::detached(), action, input)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn clone_branch_commit_push_and_open_a_pull_request() {
        let plugin = connected().await;
        call(
            &plugin,
            "clone_repository",
            json!({"repository": "acme/app", "destination": "/work/app"}),
        )
        .await;
        let branch = call(
            &plugin,
            "create_branch",
            json!({"workdir": "/work/app", "branch": "feature"}),
        )
        .await;
        assert_eq!(branch["created"], true);
        let commit = call(
            &plugin,
            "commit_changes",
            json!({"workdir": "/work/app", "message": "Add it"}),
        )
        .await;
        let pushed = call(
            &plugin,
            "push_branch",
            json!({"workdir": "/work/app", "branch": "feature"}),
        )
        .await;
        assert_eq!(pushed["commit"], commit["sha"]);
        let pull = call(
            &plugin,
            "create_pull_request",
            json!({"repository": "acme/app", "title": "Add it", "source_branch": "feature"}),
        )
        .await;
        assert_eq!(
            (pull["state"].as_str(), pull["target_branch"].as_str()),
            (Some("open"), Some("main"))
        );
        let listed = call(
            &plugin,
            "list_pull_requests",
            json!({"repository": "acme/app"}),
        )
        .await;
        assert_eq!(listed[0]["number"], pull["number"]);
    }

    #[tokio::test]
    async fn files_are_written_and_read() {
        let plugin = connected().await;
        call(&plugin, "update_file", json!({"repository": "acme/app", "path": "README.md", "content": "hi", "message": "docs"})).await;
        let file = call(
            &plugin,
            "get_file_content",
            json!({"repository": "acme/app", "path": "README.md"}),
        )
        .await;
        assert_eq!(file["content"], "hi");
        let info = call(
            &plugin,
            "get_repository_info",
            json!({"repository": "acme/app"}),
        )
        .await;
        assert_eq!(info["name"], "app");
        let err = plugin
            .call(
                &CallContext::detached(),
                "get_file_content",
                json!({"repository": "acme/app", "path": "nope"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
