//! The `ai_provider` kind: Anthropic, OpenAI-compatible servers, coding-agent
//! CLIs, scripted answers.

use crate::model::ai::{
    AiRequest, CodeAnalysis, CodeAnalysisRequest, CodeGenerationRequest, Completion, CostEstimate,
    GeneratedCode, UsageQuery, UsageStats,
};

super::plugin_kind! {
    /// An AI model. Every call reports its tokens and cost, and
    /// `estimate_cost` says before a call what it can cost at most.
    kind AiProvider, trait AiProvider {
        /// Answers a conversation.
        write fn generate_text(AiRequest) -> Completion;
        /// Reviews code and reports findings.
        write fn analyze_code(CodeAnalysisRequest) -> CodeAnalysis;
        /// Writes code from instructions.
        write fn generate_code(CodeGenerationRequest) -> GeneratedCode;
        /// The most a request can cost, without making it.
        read fn estimate_cost(AiRequest) -> CostEstimate;
        /// Tokens and cost spent so far.
        read fn get_usage_stats(UsageQuery) -> UsageStats;
    }
}
