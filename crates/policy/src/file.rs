//! The policy file: TOML in, TOML out. Parsing keeps the position of every value so that a
//! problem found later names its line. Unknown keys are refused, so a misspelt redaction
//! (`extrnal_references = true`) cannot silently release what it meant to remove.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{PolicyError, Problem, ProblemKind};
use crate::model::{LocationPrecision, Partner, Redact, Role, Rule, SharingGroup};
use crate::policy::Policy;
use crate::tlp::Tlp;

/// The only version of the file format.
pub const FORMAT_VERSION: i64 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    version: Spanned<i64>,
    #[serde(default)]
    neutral_markings: Vec<Spanned<String>>,
    #[serde(default)]
    partner: Vec<Spanned<PartnerIn>>,
    #[serde(default)]
    group: Vec<Spanned<GroupIn>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerIn {
    name: Spanned<String>,
    identity_ref: Spanned<String>,
    role: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupIn {
    name: Spanned<String>,
    #[serde(default)]
    members: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleIn {
    name: Spanned<String>,
    #[serde(default)]
    everyone: bool,
    #[serde(default)]
    partners: Vec<Spanned<String>>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    tlp_max: Spanned<String>,
    types: Option<Spanned<Vec<Spanned<String>>>>,
    marking: Option<Spanned<String>>,
    redact: Option<Spanned<RedactIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactIn {
    #[serde(default)]
    external_references: bool,
    #[serde(default)]
    created_by_ref: bool,
    #[serde(default)]
    description: bool,
    #[serde(default)]
    custom_properties: bool,
    location: Option<Spanned<String>>,
    #[serde(default)]
    properties: Vec<Spanned<String>>,
}

/// Byte offsets to lines, and the line of each path.
struct Lines<'t> {
    text: &'t str,
    by_path: HashMap<String, usize>,
}

impl Lines<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn note<T>(&mut self, path: String, value: &Spanned<T>) {
        let line = self.line_of(value.span().start);
        self.by_path.insert(path, line);
    }

    /// The line of a path, or of its nearest ancestor that has one.
    fn find(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(&line) = self.by_path.get(path) {
                return Some(line);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

pub(crate) fn parse(text: &str) -> Result<Policy, PolicyError> {
    let file: FileIn = toml::from_str(text).map_err(|error| {
        let (line, column) = match error.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (line, column)
            }
            None => (0, 0),
        };
        PolicyError::Syntax {
            line,
            column,
            message: error.message().trim().to_string(),
        }
    })?;

    let mut lines = Lines {
        text,
        by_path: HashMap::new(),
    };
    let mut problems: Vec<Problem> = Vec::new();
    let mut problem = |path: String, kind: ProblemKind| {
        problems.push(Problem {
            path,
            line: None,
            kind,
        })
    };

    lines.note("version".to_string(), &file.version);
    if *file.version.get_ref() != FORMAT_VERSION {
        problem(
            "version".to_string(),
            ProblemKind::UnsupportedVersion {
                found: *file.version.get_ref(),
            },
        );
    }

    let mut policy = Policy::new();
    for (i, marking) in file.neutral_markings.into_iter().enumerate() {
        lines.note(format!("neutral_markings[{i}]"), &marking);
        policy.neutral_markings.push(marking.into_inner());
    }

    for (i, partner) in file.partner.into_iter().enumerate() {
        lines.note(format!("partner[{i}]"), &partner);
        let partner = partner.into_inner();
        lines.note(format!("partner[{i}].name"), &partner.name);
        lines.note(format!("partner[{i}].identity_ref"), &partner.identity_ref);
        lines.note(format!("partner[{i}].role"), &partner.role);
        let role = Role::from_name(partner.role.get_ref()).unwrap_or_else(|| {
            problem(
                format!("partner[{i}].role"),
                ProblemKind::UnknownRole {
                    value: partner.role.get_ref().clone(),
                },
            );
            // A placeholder: the policy is refused anyway, but validating the rest with the
            // most restricted role reports the other problems too.
            Role::Partner
        });
        policy.partners.push(Partner::new(
            partner.name.into_inner(),
            partner.identity_ref.into_inner(),
            role,
        ));
    }

    for (i, group) in file.group.into_iter().enumerate() {
        lines.note(format!("group[{i}]"), &group);
        let group = group.into_inner();
        lines.note(format!("group[{i}].name"), &group.name);
        let mut members = Vec::new();
        for (j, member) in group.members.into_iter().enumerate() {
            lines.note(format!("group[{i}].members[{j}]"), &member);
            members.push(member.into_inner());
        }
        policy
            .groups
            .push(SharingGroup::new(group.name.into_inner(), members));
    }

    for (i, rule) in file.rule.into_iter().enumerate() {
        lines.note(format!("rule[{i}]"), &rule);
        let rule = rule.into_inner();
        lines.note(format!("rule[{i}].name"), &rule.name);
        lines.note(format!("rule[{i}].tlp_max"), &rule.tlp_max);
        let tlp_max = Tlp::from_name(rule.tlp_max.get_ref()).unwrap_or_else(|| {
            problem(
                format!("rule[{i}].tlp_max"),
                ProblemKind::UnknownTlp {
                    value: rule.tlp_max.get_ref().clone(),
                },
            );
            Tlp::Clear
        });
        let mut out = Rule::new(rule.name.into_inner(), tlp_max);
        out.everyone = rule.everyone;
        for (j, partner) in rule.partners.into_iter().enumerate() {
            lines.note(format!("rule[{i}].partners[{j}]"), &partner);
            out.partners.push(partner.into_inner());
        }
        for (j, group) in rule.groups.into_iter().enumerate() {
            lines.note(format!("rule[{i}].groups[{j}]"), &group);
            out.groups.push(group.into_inner());
        }
        if let Some(types) = rule.types {
            lines.note(format!("rule[{i}].types"), &types);
            let mut list = Vec::new();
            for (j, object_type) in types.into_inner().into_iter().enumerate() {
                lines.note(format!("rule[{i}].types[{j}]"), &object_type);
                list.push(object_type.into_inner());
            }
            out.types = Some(list);
        }
        if let Some(marking) = rule.marking {
            lines.note(format!("rule[{i}].marking"), &marking);
            out.marking = Some(marking.into_inner());
        }
        if let Some(redact) = rule.redact {
            lines.note(format!("rule[{i}].redact"), &redact);
            let redact = redact.into_inner();
            let location = match redact.location {
                None => LocationPrecision::Exact,
                Some(location) => {
                    lines.note(format!("rule[{i}].redact.location"), &location);
                    LocationPrecision::from_name(location.get_ref()).unwrap_or_else(|| {
                        problem(
                            format!("rule[{i}].redact.location"),
                            ProblemKind::UnknownLocationPrecision {
                                value: location.get_ref().clone(),
                            },
                        );
                        LocationPrecision::Region
                    })
                }
            };
            let mut properties = Vec::new();
            for (j, property) in redact.properties.into_iter().enumerate() {
                lines.note(format!("rule[{i}].redact.properties[{j}]"), &property);
                properties.push(property.into_inner());
            }
            out.redact = Redact {
                external_references: redact.external_references,
                created_by_ref: redact.created_by_ref,
                description: redact.description,
                custom_properties: redact.custom_properties,
                location,
                properties,
            };
        }
        policy.rules.push(out);
    }

    problems.extend(policy.problems());
    if problems.is_empty() {
        return Ok(policy);
    }
    for problem in &mut problems {
        problem.line = lines.find(&problem.path);
    }
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Err(PolicyError::Invalid { problems })
}

#[derive(Serialize)]
struct FileOut<'p> {
    version: i64,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    neutral_markings: &'p [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    partner: Vec<PartnerOut<'p>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    group: Vec<GroupOut<'p>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rule: Vec<RuleOut<'p>>,
}

#[derive(Serialize)]
struct PartnerOut<'p> {
    name: &'p str,
    identity_ref: &'p str,
    role: &'static str,
}

#[derive(Serialize)]
struct GroupOut<'p> {
    name: &'p str,
    members: &'p [String],
}

#[derive(Serialize)]
struct RuleOut<'p> {
    name: &'p str,
    #[serde(skip_serializing_if = "is_false")]
    everyone: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    partners: &'p [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    groups: &'p [String],
    tlp_max: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    types: Option<&'p [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marking: Option<&'p str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redact: Option<RedactOut<'p>>,
}

#[derive(Serialize)]
struct RedactOut<'p> {
    #[serde(skip_serializing_if = "is_false")]
    external_references: bool,
    #[serde(skip_serializing_if = "is_false")]
    created_by_ref: bool,
    #[serde(skip_serializing_if = "is_false")]
    description: bool,
    #[serde(skip_serializing_if = "is_false")]
    custom_properties: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'static str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    properties: &'p [String],
}

fn is_false(value: &bool) -> bool {
    !*value
}

pub(crate) fn write(policy: &Policy) -> String {
    let file = FileOut {
        version: FORMAT_VERSION,
        neutral_markings: &policy.neutral_markings,
        partner: policy
            .partners
            .iter()
            .map(|p| PartnerOut {
                name: &p.name,
                identity_ref: &p.identity_ref,
                role: p.role.name(),
            })
            .collect(),
        group: policy
            .groups
            .iter()
            .map(|g| GroupOut {
                name: &g.name,
                members: &g.members,
            })
            .collect(),
        rule: policy
            .rules
            .iter()
            .map(|r| RuleOut {
                name: &r.name,
                everyone: r.everyone,
                partners: &r.partners,
                groups: &r.groups,
                tlp_max: r.tlp_max.name(),
                types: r.types.as_deref(),
                marking: r.marking.as_deref(),
                redact: (!r.redact.is_empty()).then(|| RedactOut {
                    external_references: r.redact.external_references,
                    created_by_ref: r.redact.created_by_ref,
                    description: r.redact.description,
                    custom_properties: r.redact.custom_properties,
                    location: (r.redact.location != LocationPrecision::Exact)
                        .then(|| r.redact.location.name()),
                    properties: &r.redact.properties,
                }),
            })
            .collect(),
    };
    let body = toml::to_string_pretty(&file)
        .expect("the policy file structs are plain strings, booleans and lists");
    format!(
        "# Tessera release policy, written by tessera. Comments are not kept when it rewrites the file;\n\
         # see crates/policy/policy.example.toml for the format.\n\n{body}"
    )
}

impl Policy {
    /// Parses and validates a policy file. A policy with any problem is refused as a whole; the
    /// error lists every problem with its path and line.
    ///
    /// ```
    /// let text = r#"
    /// version = 1
    ///
    /// [[partner]]
    /// name = "bfv"
    /// identity_ref = "identity--6c8a1e4f-2b7d-4c1e-9a3f-5d2e8b7c4a10"
    /// role = "partner"
    ///
    /// [[rule]]
    /// name = "green-to-bfv"
    /// partners = ["bfv"]
    /// tlp_max = "green"
    /// "#;
    /// let policy = policy::Policy::from_toml_str(text)?;
    /// assert_eq!(policy.rules().len(), 1);
    ///
    /// let error = policy::Policy::from_toml_str(&text.replace("[\"bfv\"]", "[\"bnd\"]")).unwrap_err();
    /// assert!(error.to_string().contains("rule[0].partners[0] (line 11): no partner named \"bnd\""));
    /// # Ok::<(), policy::PolicyError>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        parse(text)
    }

    /// Writes the policy as a policy file that [`Policy::from_toml_str`] reads back to an equal
    /// policy. Comments of the file it was read from are not kept.
    pub fn to_toml_string(&self) -> String {
        write(self)
    }
}
