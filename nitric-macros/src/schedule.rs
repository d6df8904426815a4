//! `#[schedule("name", every = "5 minutes")]` and
//! `#[schedule("name", cron = "0 * * * *")]`: registers an `async fn` the
//! membrane calls on a rate or a cron expression.

use crate::attribute_args::{self, crate_option, leading_name, next_key, unknown_option};
use crate::diagnostics::Errors;
use crate::handler_fn::{self, Checked, HandlerAttribute, Parameters, Registration};
use crate::resource_name::ResourceName;
use crate::runtime_contract::{
    RuntimePath, FROM_SCHEDULE_CONTEXT, SCHEDULE_CONTEXT, SCHEDULE_FUNCTION,
};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Ident, LitStr};

const USAGE: &str = "#[schedule(\"cleanup\", every = \"5 minutes\")]";
const EVERY: &str = "every";
const CRON: &str = "cron";
const OPTIONS: &[&str] = &[EVERY, CRON, attribute_args::TIMEOUT, attribute_args::CRATE];

/// When the schedule fires, as sent to the membrane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cadence {
    /// Nitric's rate words, normalized: "5 minutes", "2 hours", "1 day".
    Every(String),
    /// A 5-field cron expression, its fields separated by single spaces.
    Cron(String),
}

/// The parsed arguments of one `#[schedule(...)]`.
pub(crate) struct ScheduleArgs {
    name: ResourceName,
    cadence: Cadence,
    timeout: Option<attribute_args::Timeout>,
    runtime: RuntimePath,
}

impl Parse for ScheduleArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let name = ResourceName::parse(leading_name(input, "schedule", USAGE)?, "schedule");
        let mut runtime = None;
        let mut timeout = None;
        // The first of `every`/`cron` seen, with its key for a later clash.
        let mut cadence: Option<(Ident, Option<Cadence>)> = None;
        let mut suggested_cadence = false;
        while let Some(key) = next_key(input)? {
            match key.to_string().as_str() {
                word @ (EVERY | CRON) => {
                    let example = if word == EVERY {
                        "every = \"5 minutes\""
                    } else {
                        "cron = \"0 * * * *\""
                    };
                    let literal = attribute_args::string_value(input, example, &mut errors)?;
                    let read = literal.and_then(|literal| {
                        let read = if word == EVERY {
                            rate(&literal)
                        } else {
                            cron(&literal)
                        };
                        read.map_err(|error| errors.push(error)).ok()
                    });
                    match &cadence {
                        Some((first, _)) => errors.spanned(
                            &key,
                            format!("a schedule has one cadence: `{first}` is already given; keep either `every` or `cron`"),
                        ),
                        None => cadence = Some((key, read)),
                    }
                }
                attribute_args::TIMEOUT => {
                    attribute_args::timeout_option(input, &key, &mut timeout, &mut errors)?
                }
                attribute_args::CRATE => crate_option(input, &key, &mut runtime, &mut errors)?,
                _ => {
                    let suggested = unknown_option(input, &key, OPTIONS, &mut errors)?;
                    suggested_cadence |= matches!(suggested, Some(EVERY | CRON));
                }
            }
        }
        if cadence.is_none() && !suggested_cadence {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("missing when the schedule fires: add `every = \"5 minutes\"` or `cron = \"0 * * * *\"`, as in {USAGE}"),
            ));
        }
        let name = name.map_err(|error| errors.push(error)).ok();
        errors.finish(()).map(|()| Self {
            name: name.expect("no errors means the name parsed"),
            cadence: cadence
                .and_then(|(_, read)| read)
                .expect("no errors means the cadence parsed"),
            timeout,
            runtime: runtime.unwrap_or(RuntimePath::DEFAULT),
        })
    }
}

/// Reads `every = "..."`: Nitric's rate words ("5 minutes", "1 hour",
/// "day") or any duration `humantime` reads ("90m", "2h"), a whole number of
/// minutes and at least one, the finest the clouds' schedulers fire.
fn rate(literal: &LitStr) -> syn::Result<Cadence> {
    let text = literal.value();
    let refused = |reason: &str| {
        syn::Error::new(
            literal.span(),
            format!("{text:?} is not a schedule rate: {reason}; write a count and a unit, as in `every = \"5 minutes\"`, \"1 hour\" or \"2 days\""),
        )
    };
    let trimmed = text.trim();
    // A bare unit ("day") is one of it, as the official SDKs read it.
    let spelled = if trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("1 {trimmed}")
    } else {
        trimmed.to_owned()
    };
    let duration =
        humantime::parse_duration(&spelled).map_err(|error| refused(&error.to_string()))?;
    let seconds = duration.as_secs();
    if seconds < 60 {
        return Err(refused(
            "it is shorter than a minute, the most often a schedule can fire",
        ));
    }
    if duration.subsec_nanos() != 0 || seconds % 60 != 0 {
        return Err(refused("schedules fire on whole minutes"));
    }
    let minutes = seconds / 60;
    // The largest unit that divides it, singular for one and plural
    // otherwise: Nitric's AWS provider deploys `rate(<these words>)`, and
    // AWS documents `rate(1 hours)` as invalid. (The Node SDK sends
    // "1 minutes"; every membrane reads both.)
    let (count, unit) = match minutes {
        m if m % (24 * 60) == 0 => (m / (24 * 60), "day"),
        m if m % 60 == 0 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    let plural = if count == 1 { "" } else { "s" };
    Ok(Cadence::Every(format!("{count} {unit}{plural}")))
}

/// The bounds of each cron field, in order, with the names it may use.
const CRON_FIELDS: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (
        "day of week",
        0,
        7,
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    ),
];

/// Reads `cron = "..."`: five fields, each `*`/`?`, numbers within the
/// field's bounds (or month and day names), ranges, steps and lists. Only
/// the form is checked here; the membrane reads the meaning.
fn cron(literal: &LitStr) -> syn::Result<Cadence> {
    let text = literal.value();
    let refused = |reason: String| {
        syn::Error::new(
            literal.span(),
            format!("{text:?} is not a cron expression: {reason}"),
        )
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != CRON_FIELDS.len() {
        return Err(refused(format!(
            "it has {} fields; write five, minute hour day-of-month month day-of-week, as in `cron = \"0 * * * *\"` (every hour, on the hour, UTC)",
            fields.len()
        )));
    }
    for (field, (name, low, high, names)) in fields.iter().zip(CRON_FIELDS) {
        for part in field.split(',') {
            let (range, step) = part.split_once('/').unwrap_or((part, "1"));
            if !step.parse::<u32>().is_ok_and(|step| step > 0) {
                return Err(refused(format!(
                    "the {name} field's step {step:?} is not a positive number"
                )));
            }
            if range == "*" || range == "?" {
                continue;
            }
            for bound in range.splitn(2, '-') {
                let known_name = names.contains(&bound.to_ascii_lowercase().as_str());
                let in_bounds = bound
                    .parse::<u32>()
                    .is_ok_and(|value| (low..=high).contains(&value));
                if !known_name && !in_bounds {
                    return Err(refused(format!(
                        "the {name} field {field:?} has {bound:?}, which is not a number from {low} to {high}{}",
                        if names.is_empty() { "" } else { " or a name" }
                    )));
                }
            }
        }
    }
    Ok(Cadence::Cron(fields.join(" ")))
}

const HANDLER: HandlerAttribute = HandlerAttribute {
    placement: "#[schedule] goes on an `async fn` the membrane calls on a schedule",
    kind: "schedule",
};

/// Expands the attribute: the function as written, its adapter taking the
/// firing's context, and a `ScheduleFunction` registration. On any error
/// the function is emitted unchanged beside the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<ScheduleArgs>(args);
    let parameters = Parameters {
        most: 1,
        allowed: "at most one parameter, the firing's `ScheduleContext`".to_owned(),
    };
    let Checked { args, function } = match HANDLER.check(args, item, &parameters) {
        Ok(checked) => checked,
        Err(unchanged_with_errors) => return unchanged_with_errors,
    };

    let input = handler_fn::input();
    // Spanned to the user's type, so a wrong one is reported there.
    let argument = handler_fn::parameters(&function).first().map(|ty| {
        let from_schedule_context = FROM_SCHEDULE_CONTEXT.spanned(ty.span());
        quote_spanned! {ty.span()=>
            <#ty as #from_schedule_context>::from_schedule_context(#input)
        }
    });
    let name = &args.name.value;
    let adapter = handler_fn::adapter();
    let source = handler_fn::source(&function);
    let with_timeout = attribute_args::with_timeout(args.timeout);
    let constructor = match &args.cadence {
        Cadence::Every(rate) => quote!(every(#name, #rate, #adapter, #source)),
        Cadence::Cron(expression) => quote!(cron(#name, #expression, #adapter, #source)),
    };
    let submission = quote! { #SCHEDULE_FUNCTION::#constructor #with_timeout };

    let registration = Registration {
        input_type: quote!(#SCHEDULE_CONTEXT),
        argument,
        second_argument: None,
        submission,
    };
    handler_fn::emit(&args.runtime, &function, registration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> Result<(String, Cadence), String> {
        syn::parse2::<ScheduleArgs>(tokens)
            .map(|args| (args.name.value, args.cadence))
            .map_err(crate::diagnostics::joined)
    }

    fn every(text: &str) -> Result<Cadence, String> {
        rate(&LitStr::new(text, Span::call_site())).map_err(|error| error.to_string())
    }

    fn cron_of(text: &str) -> Result<Cadence, String> {
        cron(&LitStr::new(text, Span::call_site())).map_err(|error| error.to_string())
    }

    #[test]
    fn parses_a_name_and_one_cadence() {
        assert_eq!(
            parse(quote!("cleanup", every = "5 minutes")),
            Ok(("cleanup".into(), Cadence::Every("5 minutes".into())))
        );
        assert_eq!(
            parse(quote!(
                "hourly",
                cron = "0  * * * *",
                timeout = "30s",
                crate = "::renamed"
            )),
            Ok(("hourly".into(), Cadence::Cron("0 * * * *".into())))
        );
    }

    #[test]
    fn rates_are_read_as_words_or_durations_and_sent_as_words() {
        let words = |text: &str| Ok(Cadence::Every(text.into()));
        assert_eq!(every("5 minutes"), words("5 minutes"));
        assert_eq!(every("1 minute"), words("1 minute"));
        assert_eq!(every("1 minutes"), words("1 minute"));
        assert_eq!(every("90m"), words("90 minutes"));
        assert_eq!(every("2h"), words("2 hours"));
        assert_eq!(every("1 hour"), words("1 hour"));
        assert_eq!(every("60m"), words("1 hour"));
        assert_eq!(every("day"), words("1 day"));
        assert_eq!(every("48 hours"), words("2 days"));
    }

    #[test]
    fn rates_the_clouds_cannot_run_are_refused() {
        assert!(every("30s").unwrap_err().contains("shorter than a minute"));
        assert!(every("0 minutes")
            .unwrap_err()
            .contains("shorter than a minute"));
        assert!(every("90s").unwrap_err().contains("whole minutes"));
        assert!(every("often")
            .unwrap_err()
            .contains("is not a schedule rate"));
        assert!(every("").unwrap_err().contains("is not a schedule rate"));
    }

    #[test]
    fn cron_expressions_are_checked_field_by_field() {
        assert_eq!(
            cron_of("*/15 9-17 ? JAN-MAR mon,fri"),
            Ok(Cadence::Cron("*/15 9-17 ? JAN-MAR mon,fri".into()))
        );
        assert!(cron_of("* * * *").unwrap_err().contains("it has 4 fields"));
        assert!(cron_of("0 0 * * * *")
            .unwrap_err()
            .contains("it has 6 fields"));
        assert!(cron_of("60 * * * *")
            .unwrap_err()
            .contains("minute field \"60\" has \"60\""));
        assert!(cron_of("* * 0 * *").unwrap_err().contains("day of month"));
        assert!(cron_of("*/0 * * * *").unwrap_err().contains("step \"0\""));
        assert!(cron_of("* * * foo *").unwrap_err().contains("or a name"));
    }

    #[test]
    fn reports_every_mistake() {
        let error = parse(quote!("no spaces", when = "daily")).unwrap_err();
        assert!(error.contains("invalid schedule name"), "{error}");
        assert!(error.contains("unknown option `when`"), "{error}");
        assert!(error.contains("missing when the schedule fires"), "{error}");
        let error = parse(quote!("both", every = "5 minutes", cron = "* * * * *")).unwrap_err();
        assert!(
            error.contains("one cadence: `every` is already given"),
            "{error}"
        );
        // A misspelt cadence is reported once, with the suggestion.
        let error = parse(quote!("typo", evry = "5 minutes")).unwrap_err();
        assert_eq!(error, "unknown option `evry`: expected one of `every`, `cron`, `timeout`, `crate`; did you mean `every`?");
    }
}
