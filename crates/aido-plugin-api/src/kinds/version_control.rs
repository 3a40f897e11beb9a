//! The `version_control` kind: git hosts such as GitHub, GitLab, plain git.

use crate::model::vcs::{
    Branch, CloneRequest, Commit, CommitRequest, FileContent, FileRequest, FileUpdate,
    LocalRepository, NewBranch, NewPullRequest, PullRequest, PullRequestQuery, PushRequest,
    PushResult, RepositoryInfo, RepositoryRef,
};

super::plugin_kind! {
    /// A git host. Branches, commits and pushes happen in a local working copy
    /// made by `clone_repository`; pull requests, repository info and file
    /// access go to the host.
    kind VersionControl, trait VersionControl {
        /// Clones a repository into a local working copy.
        write fn clone_repository(CloneRequest) -> LocalRepository;
        /// Creates a branch in a working copy and checks it out; reuses it if it exists.
        write fn create_branch(NewBranch) -> Branch;
        /// Commits changes in a working copy.
        write fn commit_changes(CommitRequest) -> Commit;
        /// Pushes a branch of a working copy to a remote.
        write fn push_branch(PushRequest) -> PushResult;
        /// Opens a pull request.
        write fn create_pull_request(NewPullRequest) -> PullRequest;
        /// Lists a repository's pull requests, optionally filtered.
        read fn list_pull_requests(PullRequestQuery) -> Vec<PullRequest>;
        /// Describes a repository.
        read fn get_repository_info(RepositoryRef) -> RepositoryInfo;
        /// Reads a file at a revision.
        read fn get_file_content(FileRequest) -> FileContent;
        /// Writes a file on a branch with a commit.
        write fn update_file(FileUpdate) -> Commit;
    }
}
