//! Why a policy is refused. A refused policy is refused as a whole: the caller keeps the policy
//! in force, and the error lists every problem found, each with where it is and how to fix it.

use std::fmt;

/// A policy that cannot be put in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not TOML of the policy file's shape (a typo in a key, a missing field, a
    /// string where a list belongs, ...).
    #[error("policy file, line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line (0 when the parser gave no position).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The policy is well-formed but breaks its rules.
    #[error("{}", describe(problems))]
    Invalid {
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

impl PolicyError {
    /// The problems of an invalid policy (empty for a syntax error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            PolicyError::Syntax { .. } => &[],
            PolicyError::Invalid { problems } => problems,
        }
    }

    pub(crate) fn one(path: impl Into<String>, kind: ProblemKind) -> PolicyError {
        PolicyError::Invalid {
            problems: vec![Problem {
                path: path.into(),
                line: None,
                kind,
            }],
        }
    }
}

fn describe(problems: &[Problem]) -> String {
    let mut text = format!(
        "the policy is refused, the one in force stays ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        text.push_str("\n  - ");
        text.push_str(&problem.to_string());
    }
    text
}

/// One problem of a policy, at a path such as `rule[2].partners[1]` (indices count from 0 in
/// the order of the `[[rule]]` tables) and, when the policy came from a file, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the problem is, e.g. `rule[2].partners[1]`.
    pub path: String,
    /// 1-based line in the policy file; `None` for a policy built through the API.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} (line {line}): {}", self.path, self.kind),
            None => write!(f, "{}: {}", self.path, self.kind),
        }
    }
}

/// What is wrong; its `Display` also says how to fix it. `name`, `value` and `property` are the
/// offending text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// `version` is not [`crate::FORMAT_VERSION`].
    UnsupportedVersion {
        /// The version the file declares.
        found: i64,
    },
    /// Names must be 1 to 64 characters of ASCII letters, digits, `-`, `_` and `.`.
    BadName {
        /// The name.
        name: String,
    },
    /// Two partners, groups or rules share a name.
    DuplicateName {
        /// `partner`, `group` or `rule`.
        what: &'static str,
        /// The name.
        name: String,
        /// The path of the first definition.
        first: String,
    },
    /// A group or rule names a partner the policy does not define.
    UnknownPartner {
        /// The name.
        name: String,
    },
    /// A rule names a sharing group the policy does not define.
    UnknownGroup {
        /// The name.
        name: String,
    },
    /// A list names the same thing twice.
    DuplicateMember {
        /// The repeated entry.
        name: String,
    },
    /// `tlp_max` is not a TLP level.
    UnknownTlp {
        /// The text.
        value: String,
    },
    /// `role` is neither `partner` nor `analyst`.
    UnknownRole {
        /// The text.
        value: String,
    },
    /// `redact.location` is not a location precision.
    UnknownLocationPrecision {
        /// The text.
        value: String,
    },
    /// A value that must be a STIX id of a given type is not.
    BadIdentifier {
        /// The text.
        value: String,
        /// The type the id must have (`identity`, `marking-definition`).
        expected_type: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// An entry of `types` is not a STIX type name.
    BadTypeName {
        /// The text.
        value: String,
    },
    /// A rule with no partners, no groups and not `everyone`.
    EmptyAudience,
    /// `types = []`, which would match nothing.
    EmptyTypes,
    /// Analysts see everything; a group or rule naming one is a mistake.
    AnalystInAudience {
        /// The analyst's name.
        name: String,
    },
    /// TLP:RED is for named recipients; `everyone = true` contradicts it.
    RedToEveryone,
    /// A rule's `marking` (or a neutral marking) is a TLP marking.
    TlpMarkingAsGroupMarking {
        /// The marking id.
        value: String,
    },
    /// A marking is both neutral and a rule's sharing-group marking.
    NeutralMarkingAsGroupMarking {
        /// The marking id.
        value: String,
    },
    /// A redaction names a property every object needs ([`crate::RESERVED_PROPERTIES`]).
    ReservedProperty {
        /// The property.
        property: String,
    },
    /// A redaction names a property twice.
    DuplicateProperty {
        /// The property.
        property: String,
    },
    /// Two rules cover the same audience, types and marking.
    ConflictingRules {
        /// The path and name of the earlier rule.
        other: String,
    },
    /// An edit names a partner, group, member, rule or marking that does not exist.
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// An edit would remove something that groups or rules still use.
    StillReferenced {
        /// `partner` or `group`.
        what: &'static str,
        /// Its name.
        name: String,
        /// The groups and rules that use it.
        by: Vec<String>,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::UnsupportedVersion { found } => {
                write!(
                    f,
                    "policy format version {found} is not supported; write version = 1"
                )
            }
            ProblemKind::BadName { name } => write!(
                f,
                "{name:?} is not a usable name; use 1 to 64 ASCII letters, digits, '-', '_' or '.'"
            ),
            ProblemKind::DuplicateName { what, name, first } => {
                write!(
                    f,
                    "{what} {name:?} is already defined at {first}; rename or remove one of them"
                )
            }
            ProblemKind::UnknownPartner { name } => {
                write!(
                    f,
                    "no partner named {name:?}; define it in a [[partner]] table or fix the name"
                )
            }
            ProblemKind::UnknownGroup { name } => {
                write!(
                    f,
                    "no sharing group named {name:?}; define it in a [[group]] table or fix the name"
                )
            }
            ProblemKind::DuplicateMember { name } => {
                write!(f, "{name:?} is listed twice; remove one")
            }
            ProblemKind::UnknownTlp { value } => write!(
                f,
                "{value:?} is not a TLP level; use one of \"clear\", \"green\", \"amber\", \"amber+strict\", \"red\""
            ),
            ProblemKind::UnknownRole { value } => {
                write!(f, "{value:?} is not a role; use \"partner\" or \"analyst\"")
            }
            ProblemKind::UnknownLocationPrecision { value } => write!(
                f,
                "{value:?} is not a location precision; use \"exact\", \"administrative-area\", \"country\" or \"region\""
            ),
            ProblemKind::BadIdentifier {
                value,
                expected_type,
                detail,
            } => write!(
                f,
                "{value:?} is not a STIX {expected_type} id ({detail}); write {expected_type}--<uuid>"
            ),
            ProblemKind::BadTypeName { value } => write!(
                f,
                "{value:?} is not a STIX type name; use lower-case letters, digits and hyphens, e.g. \"threat-actor\""
            ),
            ProblemKind::EmptyAudience => write!(
                f,
                "the rule releases to nobody; add partners = [...], groups = [...] or everyone = true"
            ),
            ProblemKind::EmptyTypes => {
                write!(
                    f,
                    "types = [] matches no object; list the types, or remove types to match every type"
                )
            }
            ProblemKind::AnalystInAudience { name } => write!(
                f,
                "{name:?} has role \"analyst\" and sees everything already; remove it here"
            ),
            ProblemKind::RedToEveryone => write!(
                f,
                "TLP:RED is for named recipients only; name partners or groups instead of everyone = true"
            ),
            ProblemKind::TlpMarkingAsGroupMarking { value } => write!(
                f,
                "{value} is a TLP marking, not a sharing-group marking; use tlp_max for TLP"
            ),
            ProblemKind::NeutralMarkingAsGroupMarking { value } => write!(
                f,
                "{value} is declared in neutral_markings and cannot also be a sharing-group marking; remove it from one"
            ),
            ProblemKind::ReservedProperty { property } => write!(
                f,
                "{property:?} cannot be redacted: every STIX object needs it; remove it from the list"
            ),
            ProblemKind::DuplicateProperty { property } => {
                write!(f, "{property:?} is listed twice; remove one")
            }
            ProblemKind::ConflictingRules { other } => write!(
                f,
                "this rule covers the same partners, types and marking as {other}; merge the two rules into one"
            ),
            ProblemKind::NotFound { what, name } => write!(f, "no {what} named {name:?}"),
            ProblemKind::StillReferenced { what, name, by } => write!(
                f,
                "{what} {name:?} is still used by {}; remove it there first",
                by.join(", ")
            ),
        }
    }
}
