//! [`Policy`]: partners, sharing groups, rules and neutral markings, always valid as a whole.

use std::collections::{BTreeSet, HashMap};

use crate::closure::{Releaser, Resolver};
use crate::decision::Decision;
use crate::error::{PolicyError, Problem, ProblemKind};
use crate::model::{Partner, Provenance, Role, Rule, SharingGroup};
use crate::tlp::{Tlp, is_tlp_marking};
use stix::Object;

/// Properties no redaction may remove: without them an object is not a STIX object, or its
/// markings are lost on the way out.
pub const RESERVED_PROPERTIES: &[&str] = &[
    "type",
    "id",
    "spec_version",
    "created",
    "modified",
    "object_marking_refs",
    "granular_markings",
];

/// Longest partner, group or rule name.
pub const NAME_LENGTH_MAX: usize = 64;

/// A release policy: who the partners are, which sharing groups exist, which rules release what
/// to whom, and which marking definitions are neutral (statements such as copyright that do not
/// restrict distribution).
///
/// A `Policy` is always valid: [`Policy::from_toml_str`] and every edit method check the whole
/// policy and refuse a change that would break it, leaving the policy as it was.
///
/// ```
/// use policy::{Partner, Policy, Role, Rule, Tlp};
///
/// let mut policy = Policy::new();
/// policy.add_partner(Partner::new("bfv", "identity--6c8a1e4f-2b7d-4c1e-9a3f-5d2e8b7c4a10", Role::Partner))?;
/// policy.add_rule(Rule::new("green-to-all", Tlp::Green).everyone())?;
/// let text = policy.to_toml_string();
/// assert_eq!(Policy::from_toml_str(&text)?, policy);
/// # Ok::<(), policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub(crate) partners: Vec<Partner>,
    pub(crate) groups: Vec<SharingGroup>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) neutral_markings: Vec<String>,
}

impl Policy {
    /// The empty policy: no partners, no rules. It releases nothing.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// Every partner, in policy order.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    /// The partner of this name.
    pub fn partner(&self, name: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.name == name)
    }

    /// Every sharing group, in policy order.
    pub fn groups(&self) -> &[SharingGroup] {
        &self.groups
    }

    /// The sharing group of this name.
    pub fn group(&self, name: &str) -> Option<&SharingGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Every rule, in policy order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule of this name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Marking definitions that do not restrict distribution (copyright, terms of use). Objects
    /// carrying any other marking the policy does not know are withheld.
    pub fn neutral_markings(&self) -> &[String] {
        &self.neutral_markings
    }

    /// Decides one object for one partner. For many objects (a TAXII page), use
    /// [`Policy::releaser`], which remembers the decisions of referenced objects.
    ///
    /// `resolver` gives the node's current version of a referenced id and where it came from;
    /// ids it does not hold count as not released.
    pub fn release(
        &self,
        object: &Object,
        provenance: &Provenance,
        partner: &str,
        resolver: &dyn Resolver,
    ) -> Decision {
        self.releaser(partner, resolver).release(object, provenance)
    }

    /// A releaser for one partner, which memoises the decisions of referenced objects across
    /// calls. Make one per response (it does not see later changes to the store).
    pub fn releaser<'a>(&'a self, partner: &str, resolver: &'a dyn Resolver) -> Releaser<'a> {
        Releaser::new(self, partner, resolver)
    }

    /// Adds a partner.
    pub fn add_partner(&mut self, partner: Partner) -> Result<(), PolicyError> {
        self.edit(|policy| {
            policy.partners.push(partner);
            Ok(())
        })
    }

    /// Removes a partner that no group or rule names any more.
    pub fn remove_partner(&mut self, name: &str) -> Result<Partner, PolicyError> {
        let index = self
            .partners
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| not_found("partner", name))?;
        let mut by: Vec<String> = Vec::new();
        by.extend(
            self.groups
                .iter()
                .filter(|g| g.members.iter().any(|m| m == name))
                .map(|g| format!("group {:?}", g.name)),
        );
        by.extend(
            self.rules
                .iter()
                .filter(|r| r.partners.iter().any(|p| p == name))
                .map(|r| format!("rule {:?}", r.name)),
        );
        if !by.is_empty() {
            return Err(PolicyError::one(
                format!("partner[{index}]"),
                ProblemKind::StillReferenced {
                    what: "partner",
                    name: name.to_string(),
                    by,
                },
            ));
        }
        let mut removed = None;
        self.edit(|policy| {
            removed = Some(policy.partners.remove(index));
            Ok(())
        })?;
        Ok(removed.expect("the edit closure ran and removed the partner"))
    }

    /// Adds a sharing group.
    pub fn add_group(&mut self, group: SharingGroup) -> Result<(), PolicyError> {
        self.edit(|policy| {
            policy.groups.push(group);
            Ok(())
        })
    }

    /// Removes a sharing group that no rule names any more.
    pub fn remove_group(&mut self, name: &str) -> Result<SharingGroup, PolicyError> {
        let index = self
            .groups
            .iter()
            .position(|g| g.name == name)
            .ok_or_else(|| not_found("group", name))?;
        let by: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.groups.iter().any(|g| g == name))
            .map(|r| format!("rule {:?}", r.name))
            .collect();
        if !by.is_empty() {
            return Err(PolicyError::one(
                format!("group[{index}]"),
                ProblemKind::StillReferenced {
                    what: "group",
                    name: name.to_string(),
                    by,
                },
            ));
        }
        let mut removed = None;
        self.edit(|policy| {
            removed = Some(policy.groups.remove(index));
            Ok(())
        })?;
        Ok(removed.expect("the edit closure ran and removed the group"))
    }

    /// Adds a partner to a sharing group.
    pub fn add_group_member(&mut self, group: &str, partner: &str) -> Result<(), PolicyError> {
        self.edit(|policy| {
            let found = policy
                .groups
                .iter_mut()
                .find(|g| g.name == group)
                .ok_or_else(|| not_found("group", group))?;
            found.members.push(partner.to_string());
            Ok(())
        })
    }

    /// Removes a partner from a sharing group.
    pub fn remove_group_member(&mut self, group: &str, partner: &str) -> Result<(), PolicyError> {
        self.edit(|policy| {
            let found = policy
                .groups
                .iter_mut()
                .find(|g| g.name == group)
                .ok_or_else(|| not_found("group", group))?;
            let index = found
                .members
                .iter()
                .position(|m| m == partner)
                .ok_or_else(|| not_found("group member", partner))?;
            found.members.remove(index);
            Ok(())
        })
    }

    /// Adds a rule.
    pub fn add_rule(&mut self, rule: Rule) -> Result<(), PolicyError> {
        self.edit(|policy| {
            policy.rules.push(rule);
            Ok(())
        })
    }

    /// Replaces the rule of the same name.
    pub fn replace_rule(&mut self, rule: Rule) -> Result<Rule, PolicyError> {
        let index = self
            .rules
            .iter()
            .position(|r| r.name == rule.name)
            .ok_or_else(|| not_found("rule", &rule.name))?;
        let mut old = None;
        self.edit(|policy| {
            old = Some(std::mem::replace(&mut policy.rules[index], rule));
            Ok(())
        })?;
        Ok(old.expect("the edit closure ran and replaced the rule"))
    }

    /// Removes a rule.
    pub fn remove_rule(&mut self, name: &str) -> Result<Rule, PolicyError> {
        let index = self
            .rules
            .iter()
            .position(|r| r.name == name)
            .ok_or_else(|| not_found("rule", name))?;
        let mut removed = None;
        self.edit(|policy| {
            removed = Some(policy.rules.remove(index));
            Ok(())
        })?;
        Ok(removed.expect("the edit closure ran and removed the rule"))
    }

    /// Declares a marking definition neutral.
    pub fn add_neutral_marking(&mut self, marking_ref: &str) -> Result<(), PolicyError> {
        self.edit(|policy| {
            policy.neutral_markings.push(marking_ref.to_string());
            Ok(())
        })
    }

    /// Withdraws a neutral marking: objects carrying it are withheld again.
    pub fn remove_neutral_marking(&mut self, marking_ref: &str) -> Result<(), PolicyError> {
        self.edit(|policy| {
            let index = policy
                .neutral_markings
                .iter()
                .position(|m| m == marking_ref)
                .ok_or_else(|| not_found("neutral marking", marking_ref))?;
            policy.neutral_markings.remove(index);
            Ok(())
        })
    }

    /// Applies a change to a copy, validates the copy as a whole, and keeps it only if valid.
    fn edit(
        &mut self,
        change: impl FnOnce(&mut Policy) -> Result<(), PolicyError>,
    ) -> Result<(), PolicyError> {
        let mut candidate = self.clone();
        change(&mut candidate)?;
        let problems = candidate.problems();
        if !problems.is_empty() {
            return Err(PolicyError::Invalid { problems });
        }
        *self = candidate;
        Ok(())
    }

    /// Every problem of the policy, with paths (no lines: the caller adds them).
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut push = |path: String, kind: ProblemKind| {
            problems.push(Problem {
                path,
                line: None,
                kind,
            })
        };

        let mut partner_first: HashMap<&str, usize> = HashMap::new();
        for (i, partner) in self.partners.iter().enumerate() {
            check_name(&mut push, &format!("partner[{i}].name"), &partner.name);
            if let Some(&first) = partner_first.get(partner.name.as_str()) {
                push(
                    format!("partner[{i}].name"),
                    ProblemKind::DuplicateName {
                        what: "partner",
                        name: partner.name.clone(),
                        first: format!("partner[{first}]"),
                    },
                );
            } else {
                partner_first.insert(&partner.name, i);
            }
            check_identifier(
                &mut push,
                &format!("partner[{i}].identity_ref"),
                &partner.identity_ref,
                "identity",
            );
        }

        let mut group_first: HashMap<&str, usize> = HashMap::new();
        for (i, group) in self.groups.iter().enumerate() {
            check_name(&mut push, &format!("group[{i}].name"), &group.name);
            if let Some(&first) = group_first.get(group.name.as_str()) {
                push(
                    format!("group[{i}].name"),
                    ProblemKind::DuplicateName {
                        what: "group",
                        name: group.name.clone(),
                        first: format!("group[{first}]"),
                    },
                );
            } else {
                group_first.insert(&group.name, i);
            }
            check_members(
                &mut push,
                &format!("group[{i}].members"),
                &group.members,
                self,
            );
        }

        let mut neutral_seen = BTreeSet::new();
        for (i, marking) in self.neutral_markings.iter().enumerate() {
            let path = format!("neutral_markings[{i}]");
            check_identifier(&mut push, &path, marking, "marking-definition");
            if is_tlp_marking(marking) {
                push(
                    path.clone(),
                    ProblemKind::TlpMarkingAsGroupMarking {
                        value: marking.clone(),
                    },
                );
            }
            if !neutral_seen.insert(marking.as_str()) {
                push(
                    path,
                    ProblemKind::DuplicateMember {
                        name: marking.clone(),
                    },
                );
            }
        }

        let mut rule_first: HashMap<&str, usize> = HashMap::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |field: &str| format!("rule[{i}].{field}");
            check_name(&mut push, &at("name"), &rule.name);
            if let Some(&first) = rule_first.get(rule.name.as_str()) {
                push(
                    at("name"),
                    ProblemKind::DuplicateName {
                        what: "rule",
                        name: rule.name.clone(),
                        first: format!("rule[{first}]"),
                    },
                );
            } else {
                rule_first.insert(&rule.name, i);
            }
            if !rule.everyone && rule.partners.is_empty() && rule.groups.is_empty() {
                push(format!("rule[{i}]"), ProblemKind::EmptyAudience);
            }
            if rule.everyone && rule.tlp_max == Tlp::Red {
                push(at("tlp_max"), ProblemKind::RedToEveryone);
            }
            check_members(&mut push, &at("partners"), &rule.partners, self);
            let mut groups_seen = BTreeSet::new();
            for (j, group) in rule.groups.iter().enumerate() {
                if self.group(group).is_none() {
                    push(
                        format!("rule[{i}].groups[{j}]"),
                        ProblemKind::UnknownGroup {
                            name: group.clone(),
                        },
                    );
                }
                if !groups_seen.insert(group.as_str()) {
                    push(
                        format!("rule[{i}].groups[{j}]"),
                        ProblemKind::DuplicateMember {
                            name: group.clone(),
                        },
                    );
                }
            }
            if let Some(types) = &rule.types {
                if types.is_empty() {
                    push(at("types"), ProblemKind::EmptyTypes);
                }
                let mut seen = BTreeSet::new();
                for (j, object_type) in types.iter().enumerate() {
                    if !stix::id::is_valid_type_name(object_type) {
                        push(
                            format!("rule[{i}].types[{j}]"),
                            ProblemKind::BadTypeName {
                                value: object_type.clone(),
                            },
                        );
                    }
                    if !seen.insert(object_type.as_str()) {
                        push(
                            format!("rule[{i}].types[{j}]"),
                            ProblemKind::DuplicateMember {
                                name: object_type.clone(),
                            },
                        );
                    }
                }
            }
            if let Some(marking) = &rule.marking {
                check_identifier(&mut push, &at("marking"), marking, "marking-definition");
                if is_tlp_marking(marking) {
                    push(
                        at("marking"),
                        ProblemKind::TlpMarkingAsGroupMarking {
                            value: marking.clone(),
                        },
                    );
                }
                if self.neutral_markings.contains(marking) {
                    push(
                        at("marking"),
                        ProblemKind::NeutralMarkingAsGroupMarking {
                            value: marking.clone(),
                        },
                    );
                }
            }
            let mut properties_seen = BTreeSet::new();
            for (j, property) in rule.redact.properties.iter().enumerate() {
                let path = format!("rule[{i}].redact.properties[{j}]");
                if RESERVED_PROPERTIES.contains(&property.as_str()) || property.is_empty() {
                    push(
                        path.clone(),
                        ProblemKind::ReservedProperty {
                            property: property.clone(),
                        },
                    );
                }
                if !properties_seen.insert(property.as_str()) {
                    push(
                        path,
                        ProblemKind::DuplicateProperty {
                            property: property.clone(),
                        },
                    );
                }
            }
        }

        // Two rules with the same scope leave the operator's intent ambiguous (which TLP, which
        // redactions?). Redactions would be merged safely, but a policy should say things once.
        let scopes: Vec<_> = self.rules.iter().map(|rule| self.scope(rule)).collect();
        for (i, scope) in scopes.iter().enumerate() {
            if let Some(j) = scopes[..i].iter().position(|other| other == scope) {
                push(
                    format!("rule[{i}]"),
                    ProblemKind::ConflictingRules {
                        other: format!("rule[{j}] ({:?})", self.rules[j].name),
                    },
                );
            }
        }
        problems
    }

    /// What a rule applies to: resolved audience, types, marking.
    fn scope(&self, rule: &Rule) -> (BTreeSet<String>, Option<BTreeSet<String>>, Option<String>) {
        let audience: BTreeSet<String> = self
            .partners
            .iter()
            .filter(|p| self.audience_contains(rule, p))
            .map(|p| p.name.clone())
            .collect();
        let types = rule
            .types
            .as_ref()
            .map(|types| types.iter().cloned().collect());
        (audience, types, rule.marking.clone())
    }

    /// Whether a rule's audience includes a partner. Analysts are in no audience: they need none.
    pub(crate) fn audience_contains(&self, rule: &Rule, partner: &Partner) -> bool {
        if partner.role != Role::Partner {
            return false;
        }
        rule.everyone
            || rule.partners.contains(&partner.name)
            || rule
                .groups
                .iter()
                .filter_map(|g| self.group(g))
                .any(|g| g.members.contains(&partner.name))
    }

    /// Whether a marking id is the sharing-group marking of any rule.
    pub(crate) fn is_group_marking(&self, marking_ref: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.marking.as_deref() == Some(marking_ref))
    }

    pub(crate) fn is_neutral_marking(&self, marking_ref: &str) -> bool {
        self.neutral_markings.iter().any(|m| m == marking_ref)
    }
}

fn not_found(what: &'static str, name: &str) -> PolicyError {
    PolicyError::one(
        what,
        ProblemKind::NotFound {
            what,
            name: name.to_string(),
        },
    )
}

fn check_name(push: &mut impl FnMut(String, ProblemKind), path: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= NAME_LENGTH_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        push(
            path.to_string(),
            ProblemKind::BadName {
                name: name.to_string(),
            },
        );
    }
}

fn check_identifier(
    push: &mut impl FnMut(String, ProblemKind),
    path: &str,
    value: &str,
    expected_type: &'static str,
) {
    let detail = match stix::parse_identifier(value) {
        Err(error) => error.to_string(),
        Ok((object_type, _)) if object_type != expected_type => {
            format!("its type is {object_type}")
        }
        Ok(_) => return,
    };
    push(
        path.to_string(),
        ProblemKind::BadIdentifier {
            value: value.to_string(),
            expected_type,
            detail,
        },
    );
}

fn check_members(
    push: &mut impl FnMut(String, ProblemKind),
    path: &str,
    members: &[String],
    policy: &Policy,
) {
    let mut seen = BTreeSet::new();
    for (j, name) in members.iter().enumerate() {
        let path = format!("{path}[{j}]");
        match policy.partner(name) {
            None => push(
                path.clone(),
                ProblemKind::UnknownPartner { name: name.clone() },
            ),
            Some(partner) if partner.role == Role::Analyst => push(
                path.clone(),
                ProblemKind::AnalystInAudience { name: name.clone() },
            ),
            Some(_) => {}
        }
        if !seen.insert(name.as_str()) {
            push(path, ProblemKind::DuplicateMember { name: name.clone() });
        }
    }
}
