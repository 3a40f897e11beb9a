//! Token estimates and model prices, shared by every AI provider plugin.
//!
//! The engine checks a budget before every AI call, so each provider must be
//! able to say what a request can cost *before* sending it, and what a call
//! did cost after. Both need the same two pieces, kept here once:
//!
//! - [`estimate_tokens`] and [`estimate_request_tokens`]: a tokenizer-free
//!   estimate of how many tokens a text is. Real tokenizers differ per model
//!   family; for English prose and code, about four characters per token is
//!   the usual rule of thumb, so the estimate is `ceil(chars / 4)` plus
//!   [`MESSAGE_OVERHEAD_TOKENS`] per message for the role markers every chat
//!   format adds. It is an estimate, never a count: providers that get real
//!   counts from their service report those instead.
//! - [`PriceTable`]: US dollars per million input and output tokens, per
//!   model. It starts from [`DEFAULT_PRICES`] (published list prices) and
//!   takes overrides from a plugin's `options.prices`, since list prices
//!   change and negotiated prices differ. A model the table does not know
//!   costs 0, and [`PriceLookup::priced`] says so, so a caller can warn
//!   instead of silently reporting free calls.
//! - [`UsageLedger`]: the calls a provider instance made, with their time,
//!   model, tokens and cost, summed into `get_usage_stats`'s answer.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use aido_plugin_api::ConfigProblem;
use aido_plugin_api::model::ai::{AiRequest, ModelUsage, TokenUsage, UsageStats};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tokens added per message for the role and separator markers that chat
/// formats wrap around each turn.
pub(crate) const MESSAGE_OVERHEAD_TOKENS: u64 = 4;

/// Characters per token in the estimate.
const CHARS_PER_TOKEN: u64 = 4;

/// An estimate of the tokens in `text`: one per four characters, rounded up.
///
/// Characters, not bytes, so that non-ASCII text is not counted four times
/// over.
pub(crate) fn estimate_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    chars.div_ceil(CHARS_PER_TOKEN)
}

/// An estimate of the tokens of one chat message (its text plus the
/// per-message overhead).
pub(crate) fn estimate_message_tokens(text: &str) -> u64 {
    estimate_tokens(text) + MESSAGE_OVERHEAD_TOKENS
}

/// An estimate of the input tokens of a whole request: the system prompt and
/// every message, each with its overhead.
pub(crate) fn estimate_request_tokens(request: &AiRequest) -> u64 {
    let system = request.system.as_deref().map_or(0, estimate_message_tokens);
    let messages: u64 = request
        .messages
        .iter()
        .map(|message| estimate_message_tokens(&message.content))
        .sum();
    system + messages
}

/// What a model costs, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelPrice {
    /// US dollars per million input (prompt) tokens.
    pub input_per_mtok: f64,
    /// US dollars per million output (generated) tokens.
    pub output_per_mtok: f64,
}

impl ModelPrice {
    /// A price of `input` and `output` dollars per million tokens.
    pub(crate) const fn new(input: f64, output: f64) -> Self {
        ModelPrice {
            input_per_mtok: input,
            output_per_mtok: output,
        }
    }

    /// What `usage` costs at this price, in US dollars.
    pub(crate) fn cost(&self, usage: TokenUsage) -> f64 {
        (usage.input_tokens as f64 * self.input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// List prices of current models, in US dollars per million tokens.
///
/// Keys are model names or name prefixes: a dated or aliased id such as
/// `claude-sonnet-4-20250514` or `gpt-4o-2024-08-06` takes the price of the
/// longest key it starts with (at a `-` boundary), so `gpt-4o-mini-...` is
/// priced as `gpt-4o-mini`, not as `gpt-4o`.
pub(crate) const DEFAULT_PRICES: &[(&str, ModelPrice)] = &[
    // Anthropic.
    ("claude-opus-4", ModelPrice::new(15.0, 75.0)),
    ("claude-opus-4-5", ModelPrice::new(5.0, 25.0)),
    ("claude-sonnet-4", ModelPrice::new(3.0, 15.0)),
    ("claude-haiku-4-5", ModelPrice::new(1.0, 5.0)),
    ("claude-3-7-sonnet", ModelPrice::new(3.0, 15.0)),
    ("claude-3-5-sonnet", ModelPrice::new(3.0, 15.0)),
    ("claude-3-5-haiku", ModelPrice::new(0.8, 4.0)),
    ("claude-3-opus", ModelPrice::new(15.0, 75.0)),
    ("claude-3-haiku", ModelPrice::new(0.25, 1.25)),
    // OpenAI.
    ("gpt-4o", ModelPrice::new(2.5, 10.0)),
    ("gpt-4o-mini", ModelPrice::new(0.15, 0.6)),
    ("gpt-4.1", ModelPrice::new(2.0, 8.0)),
    ("gpt-4.1-mini", ModelPrice::new(0.4, 1.6)),
    ("gpt-4.1-nano", ModelPrice::new(0.1, 0.4)),
    ("gpt-5", ModelPrice::new(1.25, 10.0)),
    ("gpt-5-mini", ModelPrice::new(0.25, 2.0)),
    ("gpt-5-nano", ModelPrice::new(0.05, 0.4)),
    ("o1", ModelPrice::new(15.0, 60.0)),
    ("o1-mini", ModelPrice::new(1.1, 4.4)),
    ("o3", ModelPrice::new(2.0, 8.0)),
    ("o3-mini", ModelPrice::new(1.1, 4.4)),
    ("o3-pro", ModelPrice::new(20.0, 80.0)),
    ("o4-mini", ModelPrice::new(1.1, 4.4)),
];

/// The price found for a model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceLookup {
    /// The price; zero when the model is unknown.
    pub price: ModelPrice,
    /// Whether a price was found. `false` means costs are reported as 0
    /// because the table does not know the model, not because it is free.
    pub priced: bool,
    /// The table key that matched (the model itself or a prefix of it).
    pub matched: Option<String>,
}

/// Prices per model: the defaults, with configured overrides on top.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceTable {
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable::with_overrides(&BTreeMap::new())
    }
}

impl PriceTable {
    /// The default prices, with `overrides` replacing or adding models.
    ///
    /// An override is merged into the table rather than checked first, so
    /// overriding `gpt-4o` leaves `gpt-4o-mini` at its own price.
    pub(crate) fn with_overrides(overrides: &BTreeMap<String, ModelPrice>) -> Self {
        let mut prices: BTreeMap<String, ModelPrice> = DEFAULT_PRICES
            .iter()
            .map(|(model, price)| ((*model).to_owned(), *price))
            .collect();
        prices.extend(
            overrides
                .iter()
                .map(|(model, price)| (model.clone(), *price)),
        );
        PriceTable { prices }
    }

    /// The price of `model`: an exact key, else the longest key `model`
    /// starts with followed by `-`; zero and `priced: false` otherwise.
    pub(crate) fn lookup(&self, model: &str) -> PriceLookup {
        let matched = self
            .prices
            .iter()
            .filter(|(key, _)| is_same_model_family(model, key))
            .max_by_key(|(key, _)| key.len());
        match matched {
            Some((key, price)) => PriceLookup {
                price: *price,
                priced: true,
                matched: Some(key.clone()),
            },
            None => PriceLookup {
                price: ModelPrice::new(0.0, 0.0),
                priced: false,
                matched: None,
            },
        }
    }

    /// What `usage` of `model` costs, in US dollars (0 for unknown models).
    pub(crate) fn cost(&self, model: &str, usage: TokenUsage) -> f64 {
        self.lookup(model).price.cost(usage)
    }
}

/// Whether `model` is `key` itself or a variant of it (`key-...`).
fn is_same_model_family(model: &str, key: &str) -> bool {
    match model.strip_prefix(key) {
        Some(rest) => rest.is_empty() || rest.starts_with('-'),
        None => false,
    }
}

/// Checks configured prices: each must be a finite, non-negative number.
/// `path` is the configuration key of the price map (`options.prices`).
pub(crate) fn check_prices(
    path: &str,
    prices: &BTreeMap<String, ModelPrice>,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (model, price) in prices {
        for (field, value) in [
            ("input_per_mtok", price.input_per_mtok),
            ("output_per_mtok", price.output_per_mtok),
        ] {
            if !value.is_finite() || value < 0.0 {
                problems.push(ConfigProblem::new(
                    format!("{path}.{model}.{field}"),
                    format!(
                        "a price must be a non-negative number of US dollars per million \
                         tokens, not {value}"
                    ),
                ));
            }
        }
        if model.trim().is_empty() {
            problems.push(ConfigProblem::new(path, "a model name must not be empty"));
        }
    }
    problems
}

/// Every call a provider instance made since it connected, for
/// `get_usage_stats`.
#[derive(Debug, Default)]
pub(crate) struct UsageLedger {
    calls: Mutex<Vec<UsageRecord>>,
}

/// One call in a [`UsageLedger`].
#[derive(Debug, Clone)]
struct UsageRecord {
    at: DateTime<Utc>,
    model: String,
    usage: TokenUsage,
    cost_usd: f64,
}

impl UsageLedger {
    /// Records a call made now.
    pub(crate) fn record(&self, model: &str, usage: TokenUsage, cost_usd: f64) {
        self.record_at(Utc::now(), model, usage, cost_usd);
    }

    /// Records a call made at `at`.
    pub(crate) fn record_at(
        &self,
        at: DateTime<Utc>,
        model: &str,
        usage: TokenUsage,
        cost_usd: f64,
    ) {
        // Every update is one push, so a poisoned lock still holds a
        // consistent list.
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.push(UsageRecord {
            at,
            model: model.to_owned(),
            usage,
            cost_usd,
        });
    }

    /// The calls made at or after `since` (all of them when `None`), in
    /// total and per model.
    pub(crate) fn stats(&self, since: Option<DateTime<Utc>>) -> UsageStats {
        let calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stats = UsageStats::default();
        for call in calls
            .iter()
            .filter(|call| since.is_none_or(|since| call.at >= since))
        {
            add_call(
                &mut stats.requests,
                &mut stats.usage,
                &mut stats.cost_usd,
                call,
            );
            let model = stats
                .by_model
                .entry(call.model.clone())
                .or_insert_with(ModelUsage::default);
            add_call(
                &mut model.requests,
                &mut model.usage,
                &mut model.cost_usd,
                call,
            );
        }
        stats
    }
}

fn add_call(requests: &mut u64, usage: &mut TokenUsage, cost_usd: &mut f64, call: &UsageRecord) {
    *requests += 1;
    usage.input_tokens += call.usage.input_tokens;
    usage.output_tokens += call.usage.output_tokens;
    *cost_usd += call.cost_usd;
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::model::ai::ChatMessage;

    fn usage(input_tokens: u64, output_tokens: u64) -> TokenUsage {
        TokenUsage {
            input_tokens,
            output_tokens,
        }
    }

    #[test]
    fn tokens_are_a_quarter_of_the_characters_rounded_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abc"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        // Characters, not bytes: four two-byte characters are one token.
        assert_eq!(estimate_tokens("éééé"), 1);
    }

    #[test]
    fn request_estimate_adds_overhead_per_message() {
        let request = AiRequest {
            system: Some("abcd".into()),
            messages: vec![ChatMessage::user("abcdefgh"), ChatMessage::assistant("")],
            ..AiRequest::default()
        };
        let expected =
            (1 + MESSAGE_OVERHEAD_TOKENS) + (2 + MESSAGE_OVERHEAD_TOKENS) + MESSAGE_OVERHEAD_TOKENS;
        assert_eq!(estimate_request_tokens(&request), expected);
    }

    #[test]
    fn exact_model_names_have_their_list_price() {
        let table = PriceTable::default();
        let cost = table.cost("claude-sonnet-4", usage(1_000_000, 1_000_000));
        assert!((cost - 18.0).abs() < 1e-9, "{cost}");
        let cost = table.cost("gpt-4o-mini", usage(2_000_000, 0));
        assert!((cost - 0.3).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn dated_ids_take_the_longest_matching_family() {
        let table = PriceTable::default();
        let lookup = table.lookup("gpt-4o-mini-2024-07-18");
        assert_eq!(lookup.matched.as_deref(), Some("gpt-4o-mini"));
        let lookup = table.lookup("claude-opus-4-5-20251101");
        assert_eq!(lookup.matched.as_deref(), Some("claude-opus-4-5"));
        let lookup = table.lookup("claude-sonnet-4-20250514");
        assert_eq!(lookup.matched.as_deref(), Some("claude-sonnet-4"));
        assert!(lookup.priced);
    }

    #[test]
    fn a_prefix_must_end_at_a_dash() {
        let table = PriceTable::default();
        // `o1` must not price `o1x`, and `gpt-4.1` must not price `gpt-4.10`.
        assert!(!table.lookup("o1x").priced);
        assert!(!table.lookup("gpt-4.10").priced);
    }

    #[test]
    fn unknown_models_cost_nothing_and_say_so() {
        let table = PriceTable::default();
        let lookup = table.lookup("llama3:8b");
        assert!(!lookup.priced);
        assert_eq!(lookup.matched, None);
        assert_eq!(table.cost("llama3:8b", usage(1000, 1000)), 0.0);
    }

    #[test]
    fn overrides_replace_one_model_and_leave_its_relatives() {
        let overrides = BTreeMap::from([("gpt-4o".to_owned(), ModelPrice::new(1.0, 2.0))]);
        let table = PriceTable::with_overrides(&overrides);
        assert_eq!(
            table.lookup("gpt-4o-2024-08-06").price,
            ModelPrice::new(1.0, 2.0)
        );
        assert_eq!(
            table.lookup("gpt-4o-mini").price,
            ModelPrice::new(0.15, 0.6)
        );
    }

    #[test]
    fn overrides_can_add_local_models() {
        let overrides = BTreeMap::from([("llama3".to_owned(), ModelPrice::new(0.0, 0.5))]);
        let table = PriceTable::with_overrides(&overrides);
        let lookup = table.lookup("llama3");
        assert!(lookup.priced);
        assert!((table.cost("llama3", usage(0, 2_000_000)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn usage_stats_sum_per_model_and_filter_by_time() {
        let ledger = UsageLedger::default();
        let t0 = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let t1 = t0 + chrono::Duration::hours(1);
        ledger.record_at(t0, "a", usage(10, 5), 0.5);
        ledger.record_at(t1, "a", usage(1, 1), 0.25);
        ledger.record_at(t1, "b", usage(100, 0), 1.0);

        let all = ledger.stats(None);
        assert_eq!(all.requests, 3);
        assert_eq!(all.usage, usage(111, 6));
        assert!((all.cost_usd - 1.75).abs() < 1e-9);
        assert_eq!(all.by_model["a"].requests, 2);
        assert_eq!(all.by_model["a"].usage, usage(11, 6));

        let recent = ledger.stats(Some(t1));
        assert_eq!(recent.requests, 2);
        assert_eq!(recent.by_model["a"].usage, usage(1, 1));
        assert!(
            ledger
                .stats(Some(t1 + chrono::Duration::seconds(1)))
                .by_model
                .is_empty()
        );
    }

    #[test]
    fn negative_or_infinite_prices_are_problems() {
        let prices = BTreeMap::from([
            ("a".to_owned(), ModelPrice::new(-1.0, 1.0)),
            ("b".to_owned(), ModelPrice::new(1.0, f64::INFINITY)),
            ("c".to_owned(), ModelPrice::new(1.0, 1.0)),
        ]);
        let problems = check_prices("options.prices", &prices);
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "options.prices.a.input_per_mtok",
                "options.prices.b.output_per_mtok"
            ]
        );
    }
}
