//! The hub's one error type: every failure the hub reports — to its caller,
//! or in a member's status — is a variant here.
//!
//! Invariants:
//! - Two mappings, each in one place: [`Error::code`] makes a failure a gRPC
//!   code (and `From<Error> for tonic::Status` a status, with the variant's
//!   message), and [`Error::member_state`] makes a member's failure the state
//!   and message of its `MemberStatus`.
//! - A `tonic::Status` the hub receives is a member's answer
//!   ([`Error::Member`]); outside this file the hub builds no `Status` of its
//!   own.
//! - The messages are what clients read (and tests check): a variant's text
//!   changes only with intent.

use tonic::Code;
use tudashalo_core::limits::thousands;
use tudashalo_proto::pb::MemberState;
use tudashalo_proto::relay::{MAX_VIA, RelayError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- The caller's request.
    /// The request is malformed or exceeds a limit (the message names it).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A member path names no member of this hub.
    #[error("hub {hub} has no member {member:?}")]
    NoSuchMember { hub: String, member: String },
    /// A document asked of a hub without the member that holds it.
    #[error("at a hub, a document is named by member path and id (member = \"edelenyi\")")]
    DocumentWithoutMember,
    #[error("no member selected")]
    NoMemberSelected,
    /// With a `members` filter, a published cell would add up more than one
    /// chosen member (see `aggregates::within_members`).
    #[error(
        "members: published aggregates are whole units (disclosure rule \"whole units\"); \
         cell {cell} would add up {contributors} of {whole}, not one of the chosen members {members:?}; \
         group by kisterseg without totals, or ask without members"
    )]
    NotWholeUnit {
        cell: String,
        contributors: String,
        whole: String,
        members: Vec<String>,
    },
    /// Every member rejected the request as invalid: the caller's error,
    /// passed on with the first member's message.
    #[error("member {member}: {message}")]
    RejectedByMembers { member: String, message: String },

    // ---- Who asks (crate::relay).
    #[error("no client certificate with a urn:tudashalo:ROLE:NAME name")]
    NoIdentity,
    /// Relay headers that are malformed (`InvalidArgument`) or implausible
    /// (`PermissionDenied`).
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error("hub {hub} does not believe the relay from parent {parent}: {error}")]
    UnbelievedRelay {
        hub: String,
        parent: String,
        error: RelayError,
    },
    #[error(
        "{principal} is not a parent of hub {hub} (not listed as [[parent]] in its hub.toml) and may not send {headers}; only a parent hub relays on behalf of others"
    )]
    NotAParent {
        principal: String,
        hub: String,
        headers: String,
    },
    #[error("relay loop: the request already passed hub {hub}")]
    RelayLoop { hub: String },
    #[error("the request passed more than {MAX_VIA} hubs")]
    TooManyHubs,
    #[error(
        "partials go only to the parents of hub {hub} ([[parent]] in its hub.toml); {caller} is not one"
    )]
    PartialsRefused { hub: String, caller: String },

    // ---- A member's failures (crate::fanout, crate::limits).
    /// The member is known to be down: it was not asked.
    #[error("down for {down_s} s: {error}")]
    MemberDown { down_s: u64, error: String },
    /// The member did not answer within its budget.
    #[error("no answer within {budget_ms} ms")]
    MemberTimedOut { budget_ms: u128 },
    /// The member answered with an error status.
    #[error("{}", member_message(.0))]
    Member(tonic::Status),
    /// An aggregate beyond `limits.max_member_cells` (`sent` is what came
    /// before the chunk that would pass it).
    #[error(
        "the member sent more than {} cells; at most {} (limits.max_member_cells); its answer was discarded",
        thousands(*sent),
        thousands(*max)
    )]
    TooManyCells { sent: usize, max: usize },
    #[error(
        "the member sent {} member statuses; at most {} (limits.max_member_statuses); its answer was discarded",
        thousands(*sent),
        thousands(*max)
    )]
    TooManyStatuses { sent: usize, max: usize },
    #[error(
        "the member sent {} organisations; at most {} (MAX_NETWORK_ORGANISATIONS); its answer was discarded",
        thousands(*sent),
        thousands(*max)
    )]
    TooManyOrganisations { sent: usize, max: usize },
    /// Cells with non-finite numbers or impossible counts.
    #[error(
        "the member sent {} with non-finite numbers or impossible counts; its answer was discarded",
        if *cells == 1 { "1 cell".to_string() } else { format!("{} cells", thousands(*cells)) }
    )]
    ImpossibleNumbers { cells: usize },
    /// An original file's stream from a member that breaks its promise
    /// (no source first, more bytes than it declared, a second source).
    #[error("the member's original file was discarded: {0}")]
    BadOriginal(String),
    /// A member's failure, passed on to the caller as it is (the member
    /// that holds a document).
    #[error("{}", at_member(member, error))]
    AtMember { member: String, error: Box<Error> },

    // ---- The hub's own.
    #[error("statistics changed during the search")]
    StatsChanged,
}

/// The domain's refusals are the hub's.
impl From<tudashalo_core::Error> for Error {
    fn from(e: tudashalo_core::Error) -> Self {
        match e {
            tudashalo_core::Error::InvalidRequest(m) => Error::InvalidRequest(m),
        }
    }
}

/// A status the hub receives is a member's answer.
impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Member(status)
    }
}

impl Error {
    /// The one place where the hub's errors become gRPC codes. A member's
    /// failure passed on keeps the member's code when it is the member's
    /// own error, and otherwise says how the member failed.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidRequest(_)
            | Error::NoSuchMember { .. }
            | Error::DocumentWithoutMember
            | Error::NoMemberSelected
            | Error::NotWholeUnit { .. }
            | Error::RejectedByMembers { .. } => Code::InvalidArgument,
            Error::NoIdentity => Code::Unauthenticated,
            Error::Relay(RelayError::Malformed { .. }) => Code::InvalidArgument,
            Error::Relay(RelayError::Implausible { .. })
            | Error::UnbelievedRelay { .. }
            | Error::NotAParent { .. }
            | Error::PartialsRefused { .. } => Code::PermissionDenied,
            Error::RelayLoop { .. } | Error::TooManyHubs => Code::FailedPrecondition,
            Error::MemberDown { .. } => Code::Unavailable,
            Error::MemberTimedOut { .. } => Code::DeadlineExceeded,
            Error::Member(status) => match state_of(status).0 {
                MemberState::TimedOut => Code::DeadlineExceeded,
                MemberState::Unavailable => Code::Unavailable,
                MemberState::Refused => Code::PermissionDenied,
                MemberState::Ok | MemberState::Unspecified | MemberState::Error => status.code(),
            },
            Error::TooManyCells { .. }
            | Error::TooManyStatuses { .. }
            | Error::TooManyOrganisations { .. } => Code::ResourceExhausted,
            Error::ImpossibleNumbers { .. } | Error::BadOriginal(_) => Code::DataLoss,
            Error::AtMember { error, .. } => error.code(),
            Error::StatsChanged => Code::Internal,
        }
    }

    /// The one place where a member's failure becomes its status: the state,
    /// and the message its `MemberStatus` carries.
    pub fn member_state(&self) -> (MemberState, String) {
        match self {
            Error::MemberDown { .. } => (MemberState::Unavailable, self.to_string()),
            Error::MemberTimedOut { .. } => (MemberState::TimedOut, self.to_string()),
            Error::Member(status) => state_of(status),
            Error::AtMember { error, .. } => error.member_state(),
            _ => (MemberState::Error, format!("{:?}: {self}", self.code())),
        }
    }
}

/// How a member's error status shows in its `MemberStatus`.
fn state_of(status: &tonic::Status) -> (MemberState, String) {
    let message = if status.message().is_empty() {
        format!("{:?}", status.code())
    } else {
        status.message().to_string()
    };
    match status.code() {
        Code::DeadlineExceeded | Code::Cancelled => (MemberState::TimedOut, message),
        Code::Unavailable => (MemberState::Unavailable, message),
        Code::PermissionDenied | Code::Unauthenticated => (MemberState::Refused, message),
        Code::Unknown if message.contains("transport") || message.contains("connect") => {
            (MemberState::Unavailable, message)
        }
        _ => (
            MemberState::Error,
            format!("{:?}: {message}", status.code()),
        ),
    }
}

/// A member's error status as the hub's caller reads it: the member's own
/// message, or else how it failed.
fn member_message(status: &tonic::Status) -> String {
    if status.message().is_empty() {
        state_of(status).1
    } else {
        status.message().to_string()
    }
}

fn at_member(member: &str, error: &Error) -> String {
    match error {
        Error::MemberDown { error, .. } => format!("member {member} is down: {error}"),
        error => format!("member {member}: {error}"),
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_failure_has_one_state_and_one_code() {
        let cases = [
            (
                Error::Member(tonic::Status::cancelled("")),
                MemberState::TimedOut,
                Code::DeadlineExceeded,
            ),
            (
                Error::Member(tonic::Status::unknown("transport error")),
                MemberState::Unavailable,
                Code::Unavailable,
            ),
            (
                Error::Member(tonic::Status::unauthenticated("who?")),
                MemberState::Refused,
                Code::PermissionDenied,
            ),
            (
                Error::Member(tonic::Status::not_found("no such document")),
                MemberState::Error,
                Code::NotFound,
            ),
            (
                Error::MemberTimedOut { budget_ms: 200 },
                MemberState::TimedOut,
                Code::DeadlineExceeded,
            ),
            (
                Error::TooManyCells { sent: 10, max: 5 },
                MemberState::Error,
                Code::ResourceExhausted,
            ),
        ];
        for (error, state, code) in cases {
            assert_eq!(error.member_state().0, state, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
        }
        assert_eq!(
            Error::ImpossibleNumbers { cells: 1 }.member_state().1,
            "DataLoss: the member sent 1 cell with non-finite numbers or impossible counts; its answer was discarded"
        );
    }

    #[test]
    fn a_members_failure_passed_on_names_the_member() {
        let down = Error::AtMember {
            member: "a/b".into(),
            error: Box::new(Error::MemberDown {
                down_s: 3,
                error: "refused".into(),
            }),
        };
        assert_eq!(down.to_string(), "member a/b is down: refused");
        assert_eq!(down.code(), Code::Unavailable);
        let late = Error::AtMember {
            member: "a".into(),
            error: Box::new(Error::MemberTimedOut { budget_ms: 200 }),
        };
        let status = tonic::Status::from(late);
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert_eq!(status.message(), "member a: no answer within 200 ms");
    }
}
