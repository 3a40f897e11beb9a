//! The six kind traits and the action catalog generated from them.
//!
//! Each kind is written once, in [`plugin_kind!`]: the doc comment of each
//! method becomes both the trait method's documentation and the catalog
//! entry's description, and its input and output types become the catalog's
//! JSON Schemas and the JSON dispatcher's decoding. A method cannot be in the
//! trait and missing from the catalog, or the other way round.

mod ai_provider;
mod communication;
mod documentation;
mod monitoring;
mod task_management;
mod version_control;

pub use ai_provider::AiProvider;
pub use communication::Communication;
pub use documentation::{Documentation, publish_page_by_title};
pub use monitoring::Monitoring;
pub use task_management::TaskManagement;
pub use version_control::VersionControl;

pub(crate) use ai_provider::{actions as ai_provider_actions, dispatch as ai_provider_dispatch};
pub(crate) use communication::{
    actions as communication_actions, dispatch as communication_dispatch,
};
pub(crate) use documentation::{
    actions as documentation_actions, dispatch as documentation_dispatch,
};
pub(crate) use monitoring::{actions as monitoring_actions, dispatch as monitoring_dispatch};
pub(crate) use task_management::{
    actions as task_management_actions, dispatch as task_management_dispatch,
};
pub(crate) use version_control::{
    actions as version_control_actions, dispatch as version_control_dispatch,
};

/// Defines a kind: its trait, its catalog entries and its JSON dispatcher.
///
/// Each method is written `read fn name(Input) -> Output;` or
/// `write fn ...` for actions with side effects (which get idempotency keys).
macro_rules! plugin_kind {
    (
        $(#[doc = $kind_doc:literal])*
        kind $Kind:ident, trait $Trait:ident {
            $(
                $(#[doc = $doc:literal])*
                $effect:ident fn $method:ident($Input:ty) -> $Output:ty;
            )*
        }
    ) => {
        $(#[doc = $kind_doc])*
        #[async_trait::async_trait]
        pub trait $Trait: $crate::Plugin {
            $(
                $(#[doc = $doc])*
                async fn $method(
                    &self,
                    cx: &$crate::CallContext,
                    input: $Input,
                ) -> $crate::Result<$Output>;
            )*
        }

        /// The catalog entries of this kind, in declaration order.
        pub(crate) fn actions() -> Vec<$crate::catalog::ActionSpec> {
            vec![$(
                $crate::catalog::ActionSpec::new::<$Input, $Output>(
                    $crate::PluginKind::$Kind,
                    stringify!($method),
                    concat!($($doc, "\n"),*),
                    $crate::catalog::effect!($effect),
                ),
            )*]
        }

        #[async_trait::async_trait]
        impl<T: $crate::catalog::Transport> $Trait for $crate::catalog::Forward<T> {
            $(
                async fn $method(
                    &self,
                    cx: &$crate::CallContext,
                    input: $Input,
                ) -> $crate::Result<$Output> {
                    let action = stringify!($method);
                    let input = $crate::catalog::encode_output(action, &input)?;
                    let output = self.transport().call_action(cx, $crate::PluginKind::$Kind, action, input).await?;
                    $crate::catalog::decode_output(action, output)
                }
            )*
        }

        /// Decodes `input`, calls `action` on `plugin`, encodes the output.
        pub(crate) async fn dispatch(
            plugin: &dyn $Trait,
            cx: &$crate::CallContext,
            action: &str,
            input: serde_json::Value,
        ) -> $crate::Result<serde_json::Value> {
            match action {
                $(
                    stringify!($method) => {
                        let input: $Input = $crate::catalog::decode_input(action, input)?;
                        let output = plugin.$method(cx, input).await?;
                        $crate::catalog::encode_output(action, &output)
                    }
                )*
                other => Err($crate::catalog::unknown_action($crate::PluginKind::$Kind, other)),
            }
        }
    };
}

pub(crate) use plugin_kind;
