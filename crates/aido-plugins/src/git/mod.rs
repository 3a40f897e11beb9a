//! The built-in `git` plugin (kind `version_control`): plain git through the
//! git CLI, the embedded default that needs no forge and no account.
//!
//! It runs the user's own `git` binary rather than reimplementing git, so
//! credential helpers, SSH agents, hooks and the user's configuration keep
//! working. Repositories are local paths (working copies or bare
//! repositories) or URLs; pull requests, which plain git does not have, are
//! recorded honestly as JSON files for local review (see
//! `pull_requests`).
//!
//! Map of the module:
//! - `cli` starts git (timeouts, no prompts, errors from stderr);
//!   `redact` keeps credentials out of every message;
//! - `config` is the configuration; `validate` checks names and paths
//!   from calls; `repository` tells what a `repository` argument is;
//! - one file per action family: `clone`, `branch`, `commit`,
//!   `push`, `pull_requests`, `info`, `files`.

mod branch;
mod cli;
mod clone;
mod commit;
mod config;
mod files;
mod info;
mod pull_requests;
mod push;
mod redact;
mod repository;
mod validate;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use aido_plugin_api::model::vcs::{
    Branch, CloneRequest, Commit, CommitRequest, FileContent, FileRequest, FileUpdate,
    LocalRepository, NewBranch, NewPullRequest, PullRequest, PullRequestQuery, PushRequest,
    PushResult, RepositoryInfo, RepositoryRef,
};
use aido_plugin_api::{
    CallContext, ConfigProblem, Error, Health, Plugin, PluginConfig, PluginFactory, PluginInstance,
    PluginKind, PluginMetadata, Result, VersionControl,
};

pub use config::Config;
use config::Settings;

static META: LazyLock<PluginMetadata> = LazyLock::new(|| {
    PluginMetadata::new::<Config>(
        "git",
        PluginKind::VersionControl,
        env!("CARGO_PKG_VERSION"),
        "Plain git through the git CLI: local paths, bare repositories or URLs, with pull requests \
         recorded as local files for review.",
    )
    // Not the default `GIT`: `GIT_*` variables belong to git itself
    // (`GIT_DIR`, `GIT_INDEX_FILE`, ...) and must never be read as ours.
    .with_env_prefix("AIDO_GIT")
});

/// The factory the registry makes `git` plugins with.
pub fn factory() -> PluginFactory {
    PluginFactory::new(META.clone(), || {
        PluginInstance::VersionControl(Arc::new(GitPlugin::new()))
    })
}

/// The `git` plugin: unusable until [`Plugin::connect`] has checked that git
/// runs.
#[derive(Debug, Default)]
pub struct GitPlugin {
    settings: RwLock<Option<Arc<Settings>>>,
    /// Environment given to every git call; empty except in tests, which
    /// keep the machine's git configuration out.
    extra_env: Vec<(OsString, OsString)>,
}

impl GitPlugin {
    /// An unconfigured plugin.
    pub fn new() -> Self {
        GitPlugin::default()
    }

    /// An unconfigured plugin whose every git call also gets `env` (a
    /// forge plugin passes credentials this way: `GIT_CONFIG_*` variables
    /// never appear in a command line, a log or a saved remote URL).
    pub(crate) fn with_env(env: Vec<(OsString, OsString)>) -> Self {
        GitPlugin {
            extra_env: env,
            ..GitPlugin::default()
        }
    }

    /// A plugin whose git calls ignore the machine's global and system git
    /// configuration, so tests behave the same everywhere.
    #[cfg(test)]
    fn isolated() -> Self {
        let env = [
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ];
        GitPlugin {
            extra_env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            ..GitPlugin::default()
        }
    }

    /// The settings of the connected plugin, or an error before `connect`.
    fn settings(&self) -> Result<Arc<Settings>> {
        let settings = self.settings.read().unwrap_or_else(PoisonError::into_inner);
        settings.clone().ok_or_else(|| {
            Error::other("the git plugin is not connected; connect it before calling its actions")
        })
    }
}

#[async_trait::async_trait]
impl Plugin for GitPlugin {
    fn metadata(&self) -> &PluginMetadata {
        &META
    }

    fn validate_config(&self, config: &PluginConfig) -> Vec<ConfigProblem> {
        match config.parse::<Config>() {
            Ok(parsed) => parsed.problems(),
            Err(err) => vec![ConfigProblem::new("", err.message())],
        }
    }

    async fn connect(&self, config: &PluginConfig) -> Result<()> {
        let settings = Settings::from_config(config, self.extra_env.clone())?;
        let version = settings.git.check().await?;
        tracing::debug!(%version, "git plugin connected");
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(settings));
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }

    async fn health_check(&self) -> Health {
        let settings = match self.settings() {
            Ok(settings) => settings,
            Err(err) => return Health::Unhealthy(err.message().to_owned()),
        };
        match settings.git.check().await {
            Ok(_) => Health::Healthy,
            Err(err) => Health::Unhealthy(err.message().to_owned()),
        }
    }
}

#[async_trait::async_trait]
impl VersionControl for GitPlugin {
    async fn clone_repository(
        &self,
        cx: &CallContext,
        input: CloneRequest,
    ) -> Result<LocalRepository> {
        clone::clone_repository(&*self.settings()?, cx, input).await
    }

    async fn create_branch(&self, _cx: &CallContext, input: NewBranch) -> Result<Branch> {
        // Idempotent by nature: an existing branch is reused.
        branch::create_branch(&*self.settings()?, input).await
    }

    async fn commit_changes(&self, cx: &CallContext, input: CommitRequest) -> Result<Commit> {
        commit::commit_changes(&*self.settings()?, cx, input).await
    }

    async fn push_branch(&self, _cx: &CallContext, input: PushRequest) -> Result<PushResult> {
        // Idempotent by nature: pushing what the remote has is a success.
        push::push_branch(&*self.settings()?, input).await
    }

    async fn create_pull_request(
        &self,
        cx: &CallContext,
        input: NewPullRequest,
    ) -> Result<PullRequest> {
        pull_requests::create_pull_request(&*self.settings()?, cx, input).await
    }

    async fn list_pull_requests(
        &self,
        _cx: &CallContext,
        input: PullRequestQuery,
    ) -> Result<Vec<PullRequest>> {
        pull_requests::list_pull_requests(&*self.settings()?, input).await
    }

    async fn get_repository_info(
        &self,
        _cx: &CallContext,
        input: RepositoryRef,
    ) -> Result<RepositoryInfo> {
        info::get_repository_info(&*self.settings()?, input).await
    }

    async fn get_file_content(&self, _cx: &CallContext, input: FileRequest) -> Result<FileContent> {
        files::get_file_content(&*self.settings()?, input).await
    }

    async fn update_file(&self, cx: &CallContext, input: FileUpdate) -> Result<Commit> {
        files::update_file(&*self.settings()?, cx, input).await
    }
}
