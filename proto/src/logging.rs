//! The one log set-up of every binary (`tudashalo-node`, `tudashalo-hub`,
//! `tudashalo-demo`): events on stderr, filtered by `TUDASHALO_LOG`
//! (`info`, `debug`, `tudashalo_hub=debug`, …), as text for a person or as
//! JSON lines for journald, Loki or Elasticsearch.
//!
//! `--log-format auto` (the default, or `TUDASHALO_LOG_FORMAT`) writes text
//! when stderr is a terminal and JSON otherwise — a service manager or a
//! container runtime collects JSON without being told. A JSON line has the
//! stable fields `timestamp` (RFC 3339, UTC), `level` (`INFO`, …),
//! `target` (the module), `message`, and the event's own fields at the top
//! level (`member`, `latency_ms`, `principal`, …). What a line may carry is
//! the same in both formats: the hub never logs a document's text, a
//! snippet, a settlement or a value (THREAT_MODEL.md).

use std::io::IsTerminal;
use std::str::FromStr;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    #[default]
    Auto,
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(LogFormat::Auto),
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?} (expected auto, text or json)"
            )),
        }
    }
}

impl LogFormat {
    /// The format asked for, or else `TUDASHALO_LOG_FORMAT`'s (auto when
    /// neither says).
    pub fn or_from_env(asked: Option<LogFormat>) -> Result<LogFormat, String> {
        match asked {
            Some(format) => Ok(format),
            None => match std::env::var("TUDASHALO_LOG_FORMAT") {
                Ok(value) => value
                    .parse()
                    .map_err(|e| format!("TUDASHALO_LOG_FORMAT: {e}")),
                Err(_) => Ok(LogFormat::Auto),
            },
        }
    }

    fn json(self) -> bool {
        match self {
            LogFormat::Auto => !std::io::stderr().is_terminal(),
            LogFormat::Text => false,
            LogFormat::Json => true,
        }
    }
}

/// Installs the global subscriber: `TUDASHALO_LOG` or `default_filter`,
/// in `format`, on stderr.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TUDASHALO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format.json() {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::LogFormat;

    #[test]
    fn formats_parse_and_name_the_choices() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        let e = "yaml".parse::<LogFormat>().unwrap_err();
        assert!(e.contains("auto, text or json"), "{e}");
    }
}
