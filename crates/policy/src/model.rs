//! The nouns of a policy: partners, sharing groups, release rules and their redactions, and the
//! provenance of an object. These are plain data; [`crate::Policy`] validates them as a whole.

use crate::tlp::Tlp;

/// Who a partner is to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Another agency's node or user: sees only what the rules release, redacted as they say.
    Partner,
    /// The node's own analysts: see everything the node holds, unredacted. No rule is needed
    /// (and none may name them).
    Analyst,
}

impl Role {
    /// The name the policy file uses: `partner` or `analyst`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Analyst => "analyst",
        }
    }

    /// Parses `partner` or `analyst`.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "partner" => Some(Role::Partner),
            "analyst" => Some(Role::Analyst),
            _ => None,
        }
    }
}

/// One party that may receive objects from this node.
///
/// ```
/// use policy::{Partner, Role};
///
/// let bfv = Partner::new("bfv", "identity--6c8a1e4f-2b7d-4c1e-9a3f-5d2e8b7c4a10", Role::Partner);
/// assert_eq!(bfv.role, Role::Partner);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// The name rules and groups use, and that the server maps an authenticated token to.
    pub name: String,
    /// The STIX `identity` id of the partner's organisation.
    pub identity_ref: String,
    /// What the partner may see.
    pub role: Role,
}

impl Partner {
    /// A partner with this name, organisation identity and role.
    pub fn new(name: impl Into<String>, identity_ref: impl Into<String>, role: Role) -> Partner {
        Partner {
            name: name.into(),
            identity_ref: identity_ref.into(),
            role,
        }
    }
}

/// A named set of partners, which rules can release to as one audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingGroup {
    /// Unique among groups.
    pub name: String,
    /// Partner names, each defined in the policy.
    pub members: Vec<String>,
}

impl SharingGroup {
    /// A group of these partners (by name).
    pub fn new(
        name: impl Into<String>,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> SharingGroup {
        SharingGroup {
            name: name.into(),
            members: members.into_iter().map(Into::into).collect(),
        }
    }
}

/// How precisely a released `location` may say where something is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LocationPrecision {
    /// No coarsening.
    #[default]
    Exact,
    /// Keep `region`, `country` and `administrative_area` (the province or state).
    AdministrativeArea,
    /// Keep `region` and `country`.
    Country,
    /// Keep `region` only.
    Region,
}

impl LocationPrecision {
    /// The name the policy file uses.
    pub fn name(self) -> &'static str {
        match self {
            LocationPrecision::Exact => "exact",
            LocationPrecision::AdministrativeArea => "administrative-area",
            LocationPrecision::Country => "country",
            LocationPrecision::Region => "region",
        }
    }

    /// Parses `exact`, `administrative-area`, `country` or `region`.
    pub fn from_name(name: &str) -> Option<LocationPrecision> {
        match name {
            "exact" => Some(LocationPrecision::Exact),
            "administrative-area" => Some(LocationPrecision::AdministrativeArea),
            "country" => Some(LocationPrecision::Country),
            "region" => Some(LocationPrecision::Region),
            _ => None,
        }
    }

    /// The location-specific properties a released copy keeps at this precision; `None` means
    /// the location is not coarsened at all.
    pub(crate) fn kept_properties(self) -> Option<&'static [&'static str]> {
        match self {
            LocationPrecision::Exact => None,
            LocationPrecision::AdministrativeArea => {
                Some(&["region", "country", "administrative_area"])
            }
            LocationPrecision::Country => Some(&["region", "country"]),
            LocationPrecision::Region => Some(&["region"]),
        }
    }
}

/// What a rule removes from the objects it releases.
///
/// When several rules release the same object to a partner, the released copy gets the union of
/// their redactions and the coarsest location precision: adding a rule can widen what is released
/// but never weakens the redactions another rule asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redact {
    /// Drop `external_references` (they name sources, URLs, case numbers).
    pub external_references: bool,
    /// Drop `created_by_ref` (source protection: the partner does not learn who reported it).
    pub created_by_ref: bool,
    /// Drop `description`.
    pub description: bool,
    /// Drop every top-level custom property (`x_*`).
    pub custom_properties: bool,
    /// Coarsen `location` objects.
    pub location: LocationPrecision,
    /// Drop these top-level properties (e.g. `x_source_handler`).
    pub properties: Vec<String>,
}

impl Redact {
    /// Whether this redacts nothing.
    pub fn is_empty(&self) -> bool {
        *self == Redact::default()
    }

    /// The union of two sets of redactions.
    pub(crate) fn union(&self, other: &Redact) -> Redact {
        let mut properties = self.properties.clone();
        for property in &other.properties {
            if !properties.contains(property) {
                properties.push(property.clone());
            }
        }
        Redact {
            external_references: self.external_references || other.external_references,
            created_by_ref: self.created_by_ref || other.created_by_ref,
            description: self.description || other.description,
            custom_properties: self.custom_properties || other.custom_properties,
            location: self.location.max(other.location),
            properties,
        }
    }
}

/// A release rule: objects the audience may receive, and how they are redacted.
///
/// A rule without `marking` releases an object that carries a TLP marking no more restrictive
/// than `tlp_max`. A rule with `marking` (a sharing-group marking) releases an object that
/// carries that marking and, if it also carries a TLP marking, one no more restrictive than
/// `tlp_max`.
///
/// ```
/// use policy::{Rule, Tlp};
///
/// let rule = Rule::new("amber-to-bfv", Tlp::Amber).partners(["bfv"]).types(["indicator"]);
/// assert_eq!(rule.types.as_deref(), Some(&["indicator".to_string()][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique among rules; decisions and the ledger name the rule that released an object.
    pub name: String,
    /// Every partner (role `partner`) is in the audience.
    pub everyone: bool,
    /// Partners in the audience, by name.
    pub partners: Vec<String>,
    /// Sharing groups whose members are in the audience.
    pub groups: Vec<String>,
    /// The most restrictive TLP released.
    pub tlp_max: Tlp,
    /// Only objects of these STIX types; `None` for every type.
    pub types: Option<Vec<String>>,
    /// A sharing-group marking definition id the object must carry.
    pub marking: Option<String>,
    /// What released copies lose.
    pub redact: Redact,
}

impl Rule {
    /// A rule with no audience yet (add one with [`Rule::everyone`], [`Rule::partners`] or
    /// [`Rule::groups`]), every type, no marking and no redaction.
    pub fn new(name: impl Into<String>, tlp_max: Tlp) -> Rule {
        Rule {
            name: name.into(),
            everyone: false,
            partners: Vec::new(),
            groups: Vec::new(),
            tlp_max,
            types: None,
            marking: None,
            redact: Redact::default(),
        }
    }

    /// Releases to every partner.
    pub fn everyone(mut self) -> Rule {
        self.everyone = true;
        self
    }

    /// Adds partners to the audience.
    pub fn partners(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Rule {
        self.partners.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds sharing groups to the audience.
    pub fn groups(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Rule {
        self.groups.extend(names.into_iter().map(Into::into));
        self
    }

    /// Restricts the rule to these object types.
    pub fn types(mut self, types: impl IntoIterator<Item = impl Into<String>>) -> Rule {
        self.types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Requires a sharing-group marking.
    pub fn marking(mut self, marking_ref: impl Into<String>) -> Rule {
        self.marking = Some(marking_ref.into());
        self
    }

    /// Sets the redactions.
    pub fn redact(mut self, redact: Redact) -> Rule {
        self.redact = redact;
        self
    }

    /// Whether the rule applies to objects of this type.
    pub(crate) fn covers_type(&self, object_type: &str) -> bool {
        self.types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == object_type))
    }
}

/// Where the node got an object version from. Receivers enforce TLP too: what a peer shared
/// under AMBER, AMBER+STRICT or RED (or without TLP) is not passed on to other partners.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// Created on this node (by its analysts, an import, the extractor).
    Local,
    /// Received from a peer node, named as the federation knows it.
    Received {
        /// The peer's name.
        peer: String,
    },
}
