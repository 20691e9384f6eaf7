//! Closure: a released object never refers to an object the partner may not see.
//!
//! # Semantics
//!
//! An object is *released* to a partner when it is cleared on its own (markings, rules,
//! provenance, redactions), every required single reference (`source_ref`, `target_ref`,
//! `sighting_of_ref`, `object_ref`, and any `*_ref` its type requires) points to a released
//! object, and every required list (`object_refs`, and any `*_refs` its type requires) holds at
//! least one released object. The released set is the *least* fixpoint of that definition over the objects the node holds: an
//! object is released only if a finite chain of releases justifies it, so a cycle of reports that
//! only cite each other justifies nothing. TLP marking definitions are always released; ids the
//! node does not hold never are.
//!
//! The released copy then loses every reference, at any depth, to an object not released (a
//! reference is an id-shaped string under a `*_ref`/`*_refs` key, or any string that is a whole
//! STIX identifier):
//! optional single references are removed, optional lists are filtered (and removed when
//! emptied), `object_marking_refs` keeps only the marking definitions the partner may see, and a
//! granular marking whose definition is not released goes (only neutral markings can be in that
//! case: restricting markings were enforced before). Required references cannot be unreleased at
//! that point: the fixpoint already withheld such an object.
//!
//! Because membership depends only on *required* references, deciding an object needs the
//! required-closure of its references, not the whole graph.
//!
//! # Cost and bounds
//!
//! For one call, let V be the objects in the required-closure of the object's references that are
//! not yet memoised and E their required references. The resolver is called at most once per
//! object in V, each object is decided once, and the fixpoint is a linear propagation: O(V + E)
//! time and memory, plus the walk of the released copy (O(size of the object)). A
//! [`Releaser`] memoises memberships across calls, so a page of objects that share references
//! pays for each referenced object once.
//!
//! [`ClosureLimits`] bounds V (`nodes_max`), the length of reference chains followed
//! (`depth_max`) and the memo. An object beyond a bound counts as not released; if that makes the
//! object itself withheld, the reason is [`Reason::ClosureLimit`]. Bounds only ever withhold
//! more: memberships computed under a bound are lower bounds, so from an exploration that hit a
//! bound only releases, and withholdings that do not depend on the graph (the object's own
//! markings, an id not held), are memoised.
//!
//! Memberships are about the *current* version the resolver returns for an id; the object given
//! to [`Releaser::release`] is decided as given (it may be an older version, for TAXII's
//! `versions` endpoint).

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Map, Value};
use stix::Object;
use stix::id::type_of;

use crate::decide::{
    Cleared, FactsVerdict, JSON_DEPTH_MAX, assess_facts, evaluate, evaluate_in_place,
    prune_granular_markings,
};
use crate::decision::{Basis, Decision, Reason, Redaction, Release};
use crate::facts::{ReleaseFacts, RequiredSlot, Shape, ShapeKey, is_reference_property};

/// Closure's maps are keyed by ids it was given (stored objects, partners' pushes): seeded
/// per map, so an attacker cannot aim collisions, and several times faster than SipHash on ids.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;
type HashSet<T> = std::collections::HashSet<T, foldhash::quality::RandomState>;
use crate::model::{Partner, Provenance, Role, Rule};
use crate::policy::Policy;
use crate::tlp::is_tlp_marking;

/// Memberships past which a releaser's memo takes all the room its bound allows at once.
const MEMO_GROWN_AT: usize = 4_096;

/// Most verdicts on facts' shapes one releaser remembers.
const VERDICTS_MAX: usize = 4_096;

/// An object the node holds, as the resolver gives it: the current version and where it came
/// from.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The current version.
    pub object: Object,
    /// Where the node got it.
    pub provenance: Provenance,
}

/// Gives the node's current version of an id. The store implements it; any
/// `Fn(&str) -> Option<Held>` is one.
pub trait Resolver {
    /// The current version of `id`, or `None` when the node does not hold it.
    fn resolve(&self, id: &str) -> Option<Held>;

    /// The same as [`Resolver::resolve`], shared: a resolver that keeps parsed objects can hand
    /// them out without a deep copy. Closure calls this one.
    fn resolve_shared(&self, id: &str) -> Option<Arc<Held>> {
        self.resolve(id).map(Arc::new)
    }

    /// The [`ReleaseFacts`] of the current version of `id`: all closure asks of most referenced
    /// objects. A resolver that keeps facts per version (they never change, and do not depend
    /// on the policy or the partner) spares closure a parse of each referenced object.
    fn resolve_facts(&self, id: &str) -> Option<Arc<ReleaseFacts>> {
        self.resolve_shared(id)
            .map(|held| Arc::new(ReleaseFacts::of(&held.object, &held.provenance)))
    }
}

impl<F> Resolver for F
where
    F: Fn(&str) -> Option<Held>,
{
    fn resolve(&self, id: &str) -> Option<Held> {
        self(id)
    }
}

/// Bounds on the work one decision may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosureLimits {
    /// Most objects resolved and decided for one call.
    pub nodes_max: usize,
    /// Longest chain of references followed from the object (report -> relationship -> its
    /// ends is 2).
    pub depth_max: usize,
    /// Most memberships a [`Releaser`] remembers; it forgets them all when full.
    pub memo_max: usize,
}

impl Default for ClosureLimits {
    fn default() -> ClosureLimits {
        ClosureLimits {
            nodes_max: 10_000,
            depth_max: 16,
            memo_max: 100_000,
        }
    }
}

/// What a [`Releaser`] learnt about the objects it looked at (their memberships), kept by the
/// caller from one releaser to the next one for the **same policy, the same partner and the
/// same state of the store** (the caller's duty: a new version, a withdrawal or a policy reload
/// makes them stale, and stale memberships could release what the policy now withholds).
///
/// ```
/// use policy::{Held, Memberships, Policy};
/// let policy = Policy::from_toml_str(include_str!("../policy.example.toml"))?;
/// let nothing_held = |_: &str| -> Option<Held> { None };
/// let mut releaser = policy.releaser("bfv", &nothing_held);
/// assert!(!releaser.is_released("identity--5d6f55e7-d337-42a9-89ef-658976546091"));
/// let learnt: Memberships = releaser.into_memberships();
/// // The next request, against the same store state and policy, starts from what was learnt.
/// let releaser = policy.releaser("bfv", &nothing_held).with_memberships(learnt);
/// # drop(releaser);
/// # Ok::<(), policy::PolicyError>(())
/// ```
#[derive(Debug, Default)]
pub struct Memberships {
    partner: String,
    memo: HashMap<Arc<str>, Result<(), Reason>>,
}

impl Memberships {
    /// How many memberships are remembered.
    pub fn len(&self) -> usize {
        self.memo.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.memo.is_empty()
    }
}

/// What [`Releaser::release_stored`] settled from a stored version's facts and text.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredDecision {
    /// Released: the copy is the stored canonical text, or the text the policy made of it.
    Release(StoredRelease),
    /// Withheld, for this reason (the reason [`Releaser::release_owned`] gives).
    Withhold(Reason),
    /// Not settled without the object: decide it with [`Releaser::release_owned`].
    NeedsObject,
}

/// The policy's release of a stored version as text: the version as stored, or as the policy
/// rewrote it (ids the partner may not see dropped from its lists of references), in the
/// canonical form [`Releaser::release_owned`]'s copy would have. Only
/// [`Releaser::release_stored`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRelease {
    basis: Basis,
    redactions: Vec<Redaction>,
    text: Option<Vec<u8>>,
}

impl StoredRelease {
    /// A copy filtered of `redactions`, whose text is `text`: unchanged, as
    /// [`Release::is_unchanged`] says it, when nothing was removed and rules released it.
    fn filtered(basis: Basis, redactions: Vec<Redaction>, text: Vec<u8>) -> StoredRelease {
        let unchanged = redactions.is_empty() && matches!(basis, Basis::Rules(_));
        StoredRelease {
            basis,
            redactions,
            text: (!unchanged).then_some(text),
        }
    }

    /// Why the version may go to this partner.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    /// What was removed on the way out, as [`Release::redactions`] lists it.
    pub fn redactions(&self) -> &[Redaction] {
        &self.redactions
    }

    /// Whether the copy is the version as stored.
    pub fn is_unchanged(&self) -> bool {
        self.text.is_none()
    }

    /// The copy's canonical text, given the stored text the decision was made on.
    pub fn into_text(self, stored: Vec<u8>) -> Vec<u8> {
        self.text.unwrap_or(stored)
    }
}

/// The policy's word that a partner (one of the node's analysts) receives every object as the
/// node holds it. Only [`Releaser::releases_as_held`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsHeld {
    partner: String,
}

impl AsHeld {
    /// The partner the objects go to.
    pub fn partner(&self) -> &str {
        &self.partner
    }
}

/// Releases objects to one partner, remembering what it learnt about referenced objects. Make
/// one per response: it assumes the store does not change while it lives.
pub struct Releaser<'a> {
    policy: &'a Policy,
    partner_name: String,
    partner: Option<&'a Partner>,
    rules: Vec<&'a Rule>,
    resolver: &'a dyn Resolver,
    limits: ClosureLimits,
    memo: HashMap<Arc<str>, Result<(), Reason>>,
    /// What the facts of each shape decided (a referenced object's verdict from its facts
    /// depends on its shape alone): a page's thousands of references mostly share a few.
    verdicts: std::cell::RefCell<HashMap<ShapeKey, (FactsVerdict, Shape)>>,
}

impl<'a> Releaser<'a> {
    pub(crate) fn new(
        policy: &'a Policy,
        partner: &str,
        resolver: &'a dyn Resolver,
    ) -> Releaser<'a> {
        let found = policy.partner(partner);
        let rules = match found {
            Some(p) => policy
                .rules
                .iter()
                .filter(|r| policy.audience_contains(r, p))
                .collect(),
            None => Vec::new(),
        };
        Releaser {
            policy,
            partner_name: partner.to_string(),
            partner: found,
            rules,
            resolver,
            limits: ClosureLimits::default(),
            memo: HashMap::default(),
            verdicts: std::cell::RefCell::new(HashMap::default()),
        }
    }

    /// Starts from memberships an earlier releaser learnt (see [`Memberships`] for when that
    /// is sound). Memberships learnt for another partner are ignored.
    pub fn with_memberships(mut self, memberships: Memberships) -> Releaser<'a> {
        if memberships.partner == self.partner_name
            && memberships.memo.len() <= self.limits.memo_max
        {
            self.memo = memberships.memo;
        }
        self
    }

    /// What this releaser learnt, to start the next one from (see [`Memberships`]).
    pub fn into_memberships(self) -> Memberships {
        Memberships {
            partner: self.partner_name,
            memo: self.memo,
        }
    }

    /// Replaces the default limits.
    pub fn with_limits(mut self, limits: ClosureLimits) -> Releaser<'a> {
        self.limits = limits;
        self
    }

    /// The partner, if the policy defines it.
    pub fn partner(&self) -> Option<&Partner> {
        self.partner
    }

    /// Whether this policy releases every object to this partner exactly as the node holds it
    /// (the node's own analysts: no rule, no redaction, no closure). A caller holding the
    /// answer may send stored objects as they are, without a [`Release`] for each; it is the
    /// same decision [`Releaser::release`] makes for them, made once.
    pub fn releases_as_held(&self) -> Option<AsHeld> {
        match self.partner {
            Some(partner) if partner.role == Role::Analyst => Some(AsHeld {
                partner: partner.name.clone(),
            }),
            _ => None,
        }
    }

    /// Decides an object version: the redacted copy the partner may receive, or why not.
    ///
    /// This is the only way out of the node: the copy never refers to an object the partner may
    /// not see, and carries every redaction of every rule that releases it.
    pub fn release(&mut self, object: &Object, provenance: &Provenance) -> Decision {
        self.release_owned(object.clone(), provenance)
    }

    /// Decides an object version as [`Releaser::release`] does, taking the object: when the
    /// rules leave it as it is, it becomes the copy without a deep copy.
    pub fn release_owned(&mut self, object: Object, provenance: &Provenance) -> Decision {
        let Some(partner) = self.partner else {
            return Decision::Withhold(Reason::UnknownPartner {
                partner: self.partner_name.clone(),
            });
        };
        if partner.role == Role::Analyst {
            return Decision::Release(Release {
                object,
                basis: Basis::Analyst,
                redactions: Vec::new(),
                unchanged: true,
            });
        }
        let object_type = object.object_type().to_string();
        // Every change to a copy is recorded as a redaction, except the pruning of granular
        // markings, which only an object with granular markings can need.
        let no_granular_markings = !object.as_map().contains_key("granular_markings");
        let Cleared {
            basis,
            copy,
            mut redactions,
        } = match evaluate(self.policy, partner, &self.rules, object, provenance) {
            Ok(cleared) => cleared,
            Err(reason) => return Decision::Withhold(reason),
        };

        let (required, optional) = reference_ids(&object_type, &copy);
        let graph = self.explore(&required, &optional);
        let visible = |id: &str| graph.is_released(id);

        let by_rules = matches!(basis, Basis::Rules(_));
        match finish_copy(copy, &object_type, &visible, &mut redactions) {
            Ok(copy) => Decision::Release(Release {
                object: copy,
                basis,
                unchanged: redactions.is_empty() && by_rules && no_granular_markings,
                redactions,
            }),
            Err(Unfinished::Filter(reason)) => Decision::Withhold(match graph.truncated {
                Some(limit) => limit,
                None => reason,
            }),
            Err(Unfinished::Broken(detail)) => {
                Decision::Withhold(Reason::InvariantBroken { detail })
            }
        }
    }

    /// Decides a stored version from its release facts and its stored (canonical) text, without
    /// the object, when they settle it: withheld on its own or by closure, or released as
    /// stored (no rule redacts it, and every id it holds is released), or with the ids the
    /// partner may not see filtered out of it, at any depth (on the text itself, or, where
    /// that declines, from the parsed text; with the graph already explored either way).
    /// Anything else (a copy a rule redacts, a marking definition, granular markings, a
    /// closure limit) is [`StoredDecision::NeedsObject`]: decide the parsed object with
    /// [`Releaser::release_owned`], which decides the same wherever this one does.
    ///
    /// `facts` must be the facts of `stored_json`, the version being released (a caller
    /// holding them for a referenced object may reuse them).
    pub fn release_stored(&mut self, facts: &ReleaseFacts, stored_json: &[u8]) -> StoredDecision {
        let Some(partner) = self.partner else {
            return StoredDecision::Withhold(Reason::UnknownPartner {
                partner: self.partner_name.clone(),
            });
        };
        if partner.role == Role::Analyst {
            return StoredDecision::NeedsObject;
        }
        let basis = match self.assess(partner, facts) {
            FactsVerdict::Withheld(reason) => return StoredDecision::Withhold(reason),
            FactsVerdict::NeedsObject => return StoredDecision::NeedsObject,
            FactsVerdict::Cleared(basis) => basis,
        };
        let Some(scan) = crate::text_filter::candidate_references(stored_json) else {
            return StoredDecision::NeedsObject;
        };
        let slots = facts.slots();
        let mut required: Vec<&str> = slots
            .iter()
            .flat_map(|(_, _, ids)| ids.iter().map(String::as_str))
            .collect();
        let mut seen: HashSet<&str> = required.iter().copied().collect();
        required.retain(|id| !is_tlp_marking(id));
        let optional: Vec<&str> = scan
            .ids
            .iter()
            .map(|candidate| candidate.as_ref())
            .filter(|id| !is_tlp_marking(id) && seen.insert(id))
            .collect();
        // Most versions of a page refer only to objects decided already (their creator, the
        // marking definitions, the ends a page before decided): then the memo decides, and no
        // graph is built.
        let graph = if required
            .iter()
            .chain(&optional)
            .all(|id| self.memo.contains_key(*id))
        {
            None
        } else {
            Some(self.explore(&required, &optional))
        };
        if graph.as_ref().is_some_and(|g| g.truncated.is_some()) {
            return StoredDecision::NeedsObject;
        }
        let memo = &self.memo;
        let released = |id: &str| match &graph {
            Some(graph) => graph.is_released(id),
            None => is_tlp_marking(id) || matches!(memo.get(id), Some(Ok(()))),
        };
        // The first required slot that fails, in property order, as the copy's filter finds
        // it (the slots are in the object's property order).
        for (property, list, ids) in slots {
            if *list {
                if !ids.is_empty() && !ids.iter().any(|id| released(id)) {
                    return StoredDecision::Withhold(Reason::RequiredListEmptied {
                        property: property.clone(),
                    });
                }
            } else if let Some(id) = ids.iter().find(|id| !released(id)) {
                return StoredDecision::Withhold(Reason::ReferenceWithheld {
                    property: property.clone(),
                    ref_id: id.clone(),
                });
            }
        }
        if required.iter().chain(&optional).all(|id| released(id)) {
            return StoredDecision::Release(StoredRelease {
                basis,
                redactions: Vec::new(),
                text: None,
            });
        }
        // The copy filtered on the stored text; where that declines, from the parsed text.
        match crate::text_filter::filter(&scan, facts.object_type(), &released) {
            Some((text, redactions)) => {
                StoredDecision::Release(StoredRelease::filtered(basis, redactions, text))
            }
            None => self.filter_stored(facts, stored_json, basis, &released),
        }
    }

    /// The copy of a stored version whose facts cleared it and whose every required
    /// reference is released, filtered of the references `released` refuses, exactly as
    /// [`Releaser::release_owned`] filters the object when its rules leave it as held.
    fn filter_stored(
        &self,
        facts: &ReleaseFacts,
        stored_json: &[u8],
        basis: Basis,
        released: &dyn Fn(&str) -> bool,
    ) -> StoredDecision {
        let Ok(Value::Object(copy)) = serde_json::from_slice::<Value>(stored_json) else {
            return StoredDecision::NeedsObject;
        };
        let mut redactions = Vec::new();
        match finish_copy(copy, facts.object_type(), released, &mut redactions) {
            Ok(copy) => StoredDecision::Release(StoredRelease::filtered(
                basis,
                redactions,
                stix::canonical::canonical_object(copy.as_map()),
            )),
            // A required reference is not released: the slots said otherwise, so let the
            // object decide.
            Err(Unfinished::Filter(_)) => StoredDecision::NeedsObject,
            Err(Unfinished::Broken(detail)) => {
                StoredDecision::Withhold(Reason::InvariantBroken { detail })
            }
        }
    }

    /// [`assess_facts`], remembered by the facts' shape; `answer` reads the verdict.
    fn with_verdict<R>(
        &self,
        partner: &Partner,
        facts: &ReleaseFacts,
        answer: impl FnOnce(&FactsVerdict) -> R,
    ) -> R {
        let Some(key) = facts.shape_key() else {
            return answer(&assess_facts(self.policy, partner, &self.rules, facts));
        };
        if let Some((known, _)) = self.verdicts.borrow().get(&key) {
            return answer(known);
        }
        let verdict = assess_facts(self.policy, partner, &self.rules, facts);
        let answered = answer(&verdict);
        let mut verdicts = self.verdicts.borrow_mut();
        if verdicts.len() < VERDICTS_MAX
            && let Some((key, shape)) = facts.shape()
        {
            verdicts.insert(key, (verdict, shape));
        }
        answered
    }

    fn assess(&self, partner: &Partner, facts: &ReleaseFacts) -> FactsVerdict {
        self.with_verdict(partner, facts, FactsVerdict::clone)
    }

    /// Whether the node's current version of `id` is released to the partner. Use it to filter
    /// lists of ids (a TAXII manifest, a graph view) without building the copies.
    pub fn is_released(&mut self, id: &str) -> bool {
        self.membership(id).is_ok()
    }

    /// Why the node's current version of `id` is not released to the partner (`Ok` if it is).
    pub fn membership(&mut self, id: &str) -> Result<(), Reason> {
        let Some(partner) = self.partner else {
            return Err(Reason::UnknownPartner {
                partner: self.partner_name.clone(),
            });
        };
        if partner.role == Role::Analyst {
            return match self.resolver.resolve(id) {
                Some(_) => Ok(()),
                None => Err(Reason::NotHeld),
            };
        }
        let graph = self.explore(&[id.to_string()], &[]);
        match graph.index.get(id) {
            Some(&i) if graph.released[i] => Ok(()),
            Some(&i) if graph.exact[i] => Err(graph.reasons[i].clone()),
            Some(&i) => Err(graph
                .truncated
                .clone()
                .unwrap_or_else(|| graph.reasons[i].clone())),
            None => Err(Reason::NotHeld),
        }
    }

    /// Decides the required-closure of `required` then of `optional` (in that order, so that an
    /// object's required references get the whole budget first).
    fn explore<S: AsRef<str>>(&mut self, required: &[S], optional: &[S]) -> Graph {
        let partner = self.partner.expect("explore is called for a known partner");
        let mut builder = Builder {
            graph: Graph::default(),
            queue: VecDeque::new(),
            resolved: 0,
        };
        // At least every root is a node: grown once, not doubled a dozen times for a collection.
        builder.graph.reserve(required.len() + optional.len());
        for roots in [required, optional] {
            for id in roots {
                builder.ensure(self, partner, id.as_ref(), 1);
            }
            while let Some((node, depth)) = builder.queue.pop_front() {
                // Taken out while its targets are explored (which adds to the graph), then
                // put back for the reasons.
                let Some(source) = builder.graph.sources[node].take() else {
                    continue;
                };
                let first_slot = builder.graph.slots.len();
                for (slot, (_, list, ids)) in source.slots().iter().enumerate() {
                    let start = builder.graph.targets.len();
                    for id in ids {
                        let target = builder.ensure(self, partner, id, depth + 1);
                        builder.graph.targets.push(target);
                    }
                    builder.graph.slots.push(Slot {
                        node,
                        slot,
                        list: *list,
                        start,
                        end: builder.graph.targets.len(),
                    });
                }
                builder.graph.node_slots[node] = (first_slot, builder.graph.slots.len());
                builder.graph.sources[node] = Some(source);
            }
        }
        let mut graph = builder.graph;
        graph.solve();

        let cleared = self.memo.len() + graph.ids.len() > self.limits.memo_max;
        if cleared {
            self.memo.clear();
        }
        // Past a small size, the memo grows straight to its bound (and `clear` keeps the room):
        // each doubling of a table of tens of thousands of ids rehashes every one of them, and
        // cost the page that triggered it up to 10 ms.
        let wanted = self.memo.len() + graph.ids.len();
        if wanted > MEMO_GROWN_AT && self.memo.capacity() < self.limits.memo_max {
            self.memo
                .reserve(self.limits.memo_max.saturating_sub(self.memo.len()));
        } else {
            self.memo.reserve(graph.ids.len());
        }
        // A node not known from the memo was not in it when explored, and the memo has not
        // changed since (unless just cleared).
        for (i, id) in graph.ids.iter().enumerate() {
            if graph.frontier[i] || (graph.remembered[i] && !cleared) {
                continue;
            }
            if graph.released[i] {
                self.memo.insert(Arc::clone(id), Ok(()));
            } else if graph.truncated.is_none() || graph.exact[i] {
                self.memo
                    .insert(Arc::clone(id), Err(graph.reasons[i].clone()));
            }
        }
        graph
    }
}

/// One reference slot of a pending object: a required single reference, or a required list
/// that needs one released entry. Its property is the `slot`th of the object's [`Pending`]
/// slots; its targets are `targets[start..end]` of the graph.
#[derive(Debug, Clone, Copy)]
struct Slot {
    node: usize,
    slot: usize,
    list: bool,
    start: usize,
    end: usize,
}

/// The required slots of a pending object: shared with its release facts (most referenced
/// objects), or made from the object itself.
#[derive(Debug)]
enum Pending {
    Facts(Arc<ReleaseFacts>),
    Owned(Vec<RequiredSlot>),
}

impl Pending {
    fn slots(&self) -> &[RequiredSlot] {
        match self {
            Pending::Facts(facts) => facts.slots(),
            Pending::Owned(slots) => slots,
        }
    }
}

/// The objects explored for one call and their memberships. Flat: a collection's call has
/// thousands of nodes, and a vector per node and slot was most of its cost.
#[derive(Debug, Default)]
struct Graph {
    /// One allocation per id, shared by the index, the list and the memo it goes to.
    index: HashMap<Arc<str>, usize>,
    ids: Vec<Arc<str>>,
    /// Decided without the fixpoint: TLP markings, memo hits, ids not held, objects withheld
    /// on their own.
    known: Vec<Option<Result<(), Reason>>>,
    /// Known from the memo: nothing to remember again.
    remembered: Vec<bool>,
    /// Not explored because of a limit.
    frontier: Vec<bool>,
    /// Each node's slots, a range of `slots` (empty until the node's targets are explored).
    node_slots: Vec<(usize, usize)>,
    slots: Vec<Slot>,
    targets: Vec<usize>,
    /// Where each pending node's slots came from (for the property a reason names).
    sources: Vec<Option<Pending>>,
    released: Vec<bool>,
    reasons: Vec<Reason>,
    /// Whether a withheld membership is final whatever the limits (known, not from the fixpoint).
    exact: Vec<bool>,
    truncated: Option<Reason>,
}

impl Graph {
    fn add(&mut self, id: &str, known: Option<Result<(), Reason>>, frontier: bool) -> usize {
        let i = self.ids.len();
        let id: Arc<str> = Arc::from(id);
        self.index.insert(Arc::clone(&id), i);
        self.ids.push(id);
        self.known.push(known);
        self.remembered.push(false);
        self.frontier.push(frontier);
        self.node_slots.push((0, 0));
        self.sources.push(None);
        i
    }

    fn reserve(&mut self, nodes: usize) {
        self.index.reserve(nodes);
        self.ids.reserve(nodes);
        self.known.reserve(nodes);
        self.remembered.reserve(nodes);
        self.frontier.reserve(nodes);
        self.node_slots.reserve(nodes);
        self.sources.reserve(nodes);
    }

    fn is_released(&self, id: &str) -> bool {
        is_tlp_marking(id) || self.index.get(id).is_some_and(|&i| self.released[i])
    }

    /// The least fixpoint: propagate releases from the known-released objects through the
    /// slots of pending ones (each slot is satisfied once), in O(nodes + references).
    #[allow(
        clippy::needless_range_loop,
        reason = "the per-node vectors are indexed together"
    )]
    fn solve(&mut self) {
        let n = self.ids.len();
        self.released = vec![false; n];
        self.exact = vec![false; n];
        self.reasons = vec![Reason::NotHeld; n];
        let mut needed: Vec<usize> = vec![0; n];
        let mut satisfied: Vec<bool> = vec![false; self.slots.len()];
        // Each node's dependent slots, as one list grouped by node (counted, then placed).
        let mut first_dependent: Vec<usize> = vec![0; n + 1];
        for &target in &self.targets {
            first_dependent[target + 1] += 1;
        }
        for i in 0..n {
            first_dependent[i + 1] += first_dependent[i];
        }
        let mut placed = first_dependent.clone();
        let mut dependents: Vec<usize> = vec![0; self.targets.len()];
        for (s, slot) in self.slots.iter().enumerate() {
            for &target in &self.targets[slot.start..slot.end] {
                dependents[placed[target]] = s;
                placed[target] += 1;
            }
        }
        let mut work: Vec<usize> = Vec::new();
        for i in 0..n {
            match &self.known[i] {
                Some(Ok(())) => {
                    self.released[i] = true;
                    work.push(i);
                }
                Some(Err(reason)) => {
                    self.reasons[i] = reason.clone();
                    self.exact[i] = true;
                }
                None if self.frontier[i] => {}
                None => {
                    let (start, end) = self.node_slots[i];
                    needed[i] = end - start;
                    if needed[i] == 0 {
                        self.released[i] = true;
                        work.push(i);
                    }
                }
            }
        }
        while let Some(released) = work.pop() {
            for &s in &dependents[first_dependent[released]..first_dependent[released + 1]] {
                if satisfied[s] {
                    continue;
                }
                satisfied[s] = true;
                let node = self.slots[s].node;
                needed[node] -= 1;
                if needed[node] == 0 && !self.released[node] {
                    self.released[node] = true;
                    work.push(node);
                }
            }
        }
        for i in 0..n {
            if self.released[i] || self.known[i].is_some() || self.frontier[i] {
                continue;
            }
            let (start, end) = self.node_slots[i];
            let s = (start..end)
                .find(|&s| !satisfied[s])
                .expect("a pending object that is not released has an unsatisfied slot");
            let slot = self.slots[s];
            let property = self.sources[i]
                .as_ref()
                .and_then(|source| source.slots().get(slot.slot))
                .map(|(property, _, _)| property.clone())
                .unwrap_or_default();
            self.reasons[i] = if slot.list {
                Reason::RequiredListEmptied { property }
            } else {
                Reason::ReferenceWithheld {
                    property,
                    ref_id: self.targets[slot.start..slot.end]
                        .first()
                        .map(|&t| self.ids[t].to_string())
                        .unwrap_or_default(),
                }
            };
        }
    }
}

struct Builder {
    graph: Graph,
    queue: VecDeque<(usize, usize)>,
    resolved: usize,
}

impl Builder {
    fn ensure(
        &mut self,
        releaser: &Releaser<'_>,
        partner: &Partner,
        id: &str,
        depth: usize,
    ) -> usize {
        if let Some(&i) = self.graph.index.get(id) {
            return i;
        }
        if is_tlp_marking(id) {
            return self.graph.add(id, Some(Ok(())), false);
        }
        if let Some(known) = releaser.memo.get(id) {
            let i = self.graph.add(id, Some(known.clone()), false);
            self.graph.remembered[i] = true;
            return i;
        }
        let limits = releaser.limits;
        if depth > limits.depth_max || self.resolved >= limits.nodes_max {
            if self.graph.truncated.is_none() {
                self.graph.truncated = Some(if depth > limits.depth_max {
                    Reason::ClosureLimit {
                        limit: "depth_max",
                        max: limits.depth_max,
                    }
                } else {
                    Reason::ClosureLimit {
                        limit: "nodes_max",
                        max: limits.nodes_max,
                    }
                });
            }
            return self.graph.add(id, None, true);
        }
        self.resolved += 1;
        let facts = match releaser.resolver.resolve_facts(id) {
            // A resolver that answers with another id is not trusted with this one.
            Some(facts) if facts.id() == id => facts,
            _ => return self.graph.add(id, Some(Err(Reason::NotHeld)), false),
        };
        // The verdict without its basis (a referenced object's basis is not asked for).
        let verdict = releaser.with_verdict(partner, &facts, |verdict| match verdict {
            FactsVerdict::Withheld(reason) => Some(Err(reason.clone())),
            FactsVerdict::Cleared(_) => Some(Ok(())),
            FactsVerdict::NeedsObject => None,
        });
        match verdict {
            Some(Err(reason)) => self.graph.add(id, Some(Err(reason)), false),
            // Cleared with no required reference: released, with nothing to explore.
            Some(Ok(())) if facts.slots().is_empty() => self.graph.add(id, Some(Ok(())), false),
            Some(Ok(())) => self.pend(id, depth, Pending::Facts(facts)),
            None => self.ensure_from_object(releaser, partner, id, depth),
        }
    }

    /// Decides a referenced object from the object itself, when its facts do not settle it.
    fn ensure_from_object(
        &mut self,
        releaser: &Releaser<'_>,
        partner: &Partner,
        id: &str,
        depth: usize,
    ) -> usize {
        let held = match releaser.resolver.resolve_shared(id) {
            Some(held) if held.object.id() == id => held,
            _ => return self.graph.add(id, Some(Err(Reason::NotHeld)), false),
        };
        match evaluate_in_place(
            releaser.policy,
            partner,
            &releaser.rules,
            &held.object,
            &held.provenance,
        ) {
            Err(reason) => self.graph.add(id, Some(Err(reason)), false),
            Ok(cleared) => {
                // Without a copy, the copy is the object as held.
                let copy = match &cleared {
                    Some(cleared) => &cleared.copy,
                    None => held.object.as_map(),
                };
                let slots = required_slots(held.object.object_type(), copy);
                self.pend(id, depth, Pending::Owned(slots))
            }
        }
    }

    /// An object cleared on its own, whose required references are still to explore.
    fn pend(&mut self, id: &str, depth: usize, slots: Pending) -> usize {
        let i = self.graph.add(id, None, false);
        self.graph.sources[i] = Some(slots);
        self.queue.push_back((i, depth));
        i
    }
}

/// Whether a top-level property is a required single reference of a type. The well-known names
/// are required for every type, custom ones included, so that a custom relationship cannot lose
/// its ends and still go out.
pub(crate) fn is_required_single(object_type: &str, property: &str) -> bool {
    matches!(
        property,
        "source_ref" | "target_ref" | "sighting_of_ref" | "object_ref"
    ) || (property.ends_with("_ref") && is_required_by_type(object_type, property))
}

/// Whether a top-level property is a required list of references of a type (`object_refs` of
/// report, grouping, note, opinion; observed-data too, which says nothing without it).
pub(crate) fn is_required_list(object_type: &str, property: &str) -> bool {
    property == "object_refs"
        || (property.ends_with("_refs") && is_required_by_type(object_type, property))
}

fn is_required_by_type(object_type: &str, property: &str) -> bool {
    stix::spec::type_spec(object_type).is_some_and(|spec| {
        spec.properties
            .iter()
            .any(|p| p.required && p.name == property)
    })
}

pub(crate) fn is_reference(value: &str) -> bool {
    type_of(value).is_some()
}

/// Whether a string found under `key` refers to an object: anything id-shaped under a `*_ref` or
/// `*_refs` key (as `stix::Object::references` sees it), and, more strictly, a whole string that
/// is a valid STIX identifier under any other key, so that a custom property that does not follow
/// the naming convention (`x_related: "identity--..."`) cannot carry an id out either.
pub(crate) fn refers(reference_key: bool, value: &str) -> bool {
    (reference_key && is_reference(value)) || stix::parse_identifier(value).is_ok()
}

/// The required slots of a copy: (property, is a list, referenced ids).
pub(crate) fn required_slots(object_type: &str, copy: &Map<String, Value>) -> Vec<RequiredSlot> {
    let mut slots = Vec::new();
    for (property, value) in copy {
        if is_required_single(object_type, property) {
            if let Some(id) = value.as_str().filter(|s| is_reference(s)) {
                slots.push((property.clone(), false, vec![id.to_string()]));
            }
        } else if is_required_list(object_type, property)
            && let Some(items) = value.as_array()
        {
            let ids = items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| is_reference(s))
                .map(str::to_string)
                .collect();
            slots.push((property.clone(), true, ids));
        }
    }
    slots
}

/// Every id a copy refers to, split into the targets of required slots and the rest.
fn reference_ids(object_type: &str, copy: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut required: Vec<String> = required_slots(object_type, copy)
        .into_iter()
        .flat_map(|(_, _, ids)| ids)
        .collect();
    let mut seen: HashSet<String> = required.iter().cloned().collect();
    required.retain(|id| !is_tlp_marking(id));
    let mut optional = Vec::new();
    let mut all = Vec::new();
    collect_references(copy, &mut all);
    for (_, id) in all {
        if !is_tlp_marking(&id) && seen.insert(id.clone()) {
            optional.push(id);
        }
    }
    (required, optional)
}

/// What to do with a value after filtering it.
enum Keep {
    Keep,
    Remove,
}

/// Removes every reference to an id that is not visible, at any depth; fails when a required
/// reference (or every entry of a required list) is not visible.
fn filter_references(
    copy: &mut Map<String, Value>,
    object_type: &str,
    visible: &dyn Fn(&str) -> bool,
    redactions: &mut Vec<Redaction>,
) -> Result<(), Reason> {
    let properties: Vec<String> = copy.keys().cloned().collect();
    for property in properties {
        if property == "id" {
            continue;
        }
        if property == "granular_markings" {
            filter_granular_markings(copy, visible, redactions);
            continue;
        }
        let required_single = is_required_single(object_type, &property);
        let required_list = is_required_list(object_type, &property);
        let value = copy.get_mut(&property).expect("the key was just listed");
        if required_single
            && let Value::String(id) = value
            && is_reference(id)
        {
            if !visible(id) {
                return Err(Reason::ReferenceWithheld {
                    property,
                    ref_id: id.clone(),
                });
            }
            continue;
        }
        let had_reference = required_list && holds_reference(value);
        let mut path = property.clone();
        let keep = filter_value(&mut path, &property, value, visible, redactions, 0)?;
        if required_list
            && had_reference
            && !value.as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| is_reference(s) && visible(s)))
            })
        {
            return Err(Reason::RequiredListEmptied { property });
        }
        if let Keep::Remove = keep {
            copy.remove(&property);
        }
    }
    Ok(())
}

/// Why [`finish_copy`] gave no object.
pub(crate) enum Unfinished {
    /// A required reference is not released, or a required list was emptied.
    Filter(Reason),
    /// The copy still refers to an unreleased object, or is no longer a valid object.
    Broken(String),
}

/// A released copy made final, the one way `release_owned` and `release_stored` finish one:
/// filtered of the references `visible` refuses (each removal recorded in `redactions`),
/// pruned of granular markings whose definitions went, checked to refer to nothing
/// unreleased, and made an object again.
pub(crate) fn finish_copy(
    mut copy: Map<String, Value>,
    object_type: &str,
    visible: &dyn Fn(&str) -> bool,
    redactions: &mut Vec<Redaction>,
) -> Result<Object, Unfinished> {
    filter_references(&mut copy, object_type, visible, redactions).map_err(Unfinished::Filter)?;
    prune_granular_markings(&mut copy);
    verify(&copy, visible).map_err(Unfinished::Broken)?;
    Object::from_map(copy).map_err(|error| Unfinished::Broken(error.to_string()))
}

/// Whether every id-shaped string of a copy, at any depth and under any key but the top-level
/// `id`, is visible: stricter than both reference walks `verify` runs (each finds only such
/// strings), so a copy that passes this passes them. Too deep a copy does not pass.
fn every_id_visible(copy: &Map<String, Value>, visible: &dyn Fn(&str) -> bool) -> bool {
    fn walk(value: &Value, visible: &dyn Fn(&str) -> bool, depth: usize) -> bool {
        if depth > JSON_DEPTH_MAX {
            return false;
        }
        match value {
            Value::String(s) => {
                !(is_reference(s) || stix::parse_identifier(s).is_ok()) || visible(s)
            }
            Value::Array(items) => items.iter().all(|item| walk(item, visible, depth + 1)),
            Value::Object(map) => map.values().all(|inner| walk(inner, visible, depth + 1)),
            _ => true,
        }
    }
    copy.iter()
        .filter(|(key, _)| key.as_str() != "id")
        .all(|(_, value)| walk(value, visible, 0))
}

fn holds_reference(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| items.iter().any(|v| v.as_str().is_some_and(is_reference)))
}

/// Filters one value found under `key` at `path`. References are what [`refers`] says, and
/// everything nested inside a `*_ref`/`*_refs` key is treated as under that key. `path` is one
/// buffer extended and cut back around each nested call (paths are only kept for redactions).
fn filter_value(
    path: &mut String,
    key: &str,
    value: &mut Value,
    visible: &dyn Fn(&str) -> bool,
    redactions: &mut Vec<Redaction>,
    depth: usize,
) -> Result<Keep, Reason> {
    if depth > JSON_DEPTH_MAX {
        return Err(Reason::TooDeep {
            depth_max: JSON_DEPTH_MAX,
        });
    }
    let reference_key = is_reference_property(key);
    match value {
        Value::String(id) if refers(reference_key, id) => {
            if visible(id) {
                Ok(Keep::Keep)
            } else {
                redactions.push(Redaction::ReferenceRemoved {
                    path: path.clone(),
                    ref_id: id.clone(),
                });
                Ok(Keep::Remove)
            }
        }
        Value::Array(items) => {
            let was_empty = items.is_empty();
            let mut kept = Vec::with_capacity(items.len());
            let base = path.len();
            for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
                if !reference_key {
                    push_index(path, i);
                }
                let keep = filter_value(path, key, &mut item, visible, redactions, depth + 1);
                path.truncate(base);
                if let Keep::Keep = keep? {
                    kept.push(item);
                }
            }
            *items = kept;
            // STIX lists are never empty: a list of references emptied by filtering goes.
            Ok(if reference_key && items.is_empty() && !was_empty {
                Keep::Remove
            } else {
                Keep::Keep
            })
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let base = path.len();
            for inner_key in keys {
                path.push('.');
                path.push_str(&inner_key);
                let inner = map.get_mut(&inner_key).expect("the key was just listed");
                // Inside a reference property, every nested key is treated as a reference key.
                let effective_key = if reference_key {
                    key
                } else {
                    inner_key.as_str()
                };
                let keep = filter_value(path, effective_key, inner, visible, redactions, depth + 1);
                path.truncate(base);
                if let Keep::Remove = keep? {
                    map.remove(&inner_key);
                }
            }
            Ok(Keep::Keep)
        }
        _ => Ok(Keep::Keep),
    }
}

/// Drops granular markings whose marking definition the partner may not see.
fn filter_granular_markings(
    copy: &mut Map<String, Value>,
    visible: &dyn Fn(&str) -> bool,
    redactions: &mut Vec<Redaction>,
) {
    let Some(Value::Array(entries)) = copy.get_mut("granular_markings") else {
        return;
    };
    entries.retain(
        |entry| match entry.get("marking_ref").and_then(Value::as_str) {
            Some(marking_ref) if !visible(marking_ref) => {
                redactions.push(Redaction::GranularMarkingRemoved {
                    marking_ref: marking_ref.to_string(),
                });
                false
            }
            _ => true,
        },
    );
    if entries.is_empty() {
        copy.remove("granular_markings");
    }
}

/// Every (path, id) the copy refers to at any depth (see [`refers`]), its own `id` aside.
fn collect_references(map: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    let mut path = String::new();
    for (key, value) in map {
        if key == "id" {
            continue;
        }
        path.clear();
        path.push_str(key);
        collect_value(&mut path, key, value, 0, out);
    }
}

/// Appends `[index]` to a path.
fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
}

/// `path` is one buffer extended and cut back around each nested call: a path is copied only
/// for a reference found.
fn collect_value(
    path: &mut String,
    key: &str,
    value: &Value,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    if depth > JSON_DEPTH_MAX {
        out.push((path.to_string(), "(too deep to inspect)".to_string()));
        return;
    }
    let reference_key = is_reference_property(key);
    match value {
        Value::String(s) if refers(reference_key, s) => out.push((path.clone(), s.clone())),
        Value::Array(items) => {
            let base = path.len();
            for (i, item) in items.iter().enumerate() {
                push_index(path, i);
                collect_value(path, key, item, depth + 1, out);
                path.truncate(base);
            }
        }
        Value::Object(map) => {
            let base = path.len();
            for (inner_key, inner) in map {
                let effective_key = if reference_key {
                    key
                } else {
                    inner_key.as_str()
                };
                path.push('.');
                path.push_str(inner_key);
                collect_value(path, effective_key, inner, depth + 1, out);
                path.truncate(base);
            }
        }
        _ => {}
    }
}

/// The last check before an object leaves: every reference in the copy, found by this crate's
/// walk and by `stix`'s, is visible.
fn verify(copy: &Map<String, Value>, visible: &dyn Fn(&str) -> bool) -> Result<(), String> {
    // Most copies pass: check them without building a path for every reference, then find
    // the path only for a copy that may fail.
    if every_id_visible(copy, visible) {
        return Ok(());
    }
    let mut found = Vec::new();
    collect_references(copy, &mut found);
    found.extend(stix::validate::references(copy));
    match found.into_iter().find(|(_, id)| !visible(id)) {
        Some((path, id)) => Err(format!(
            "{path} still refers to {id}, which is not released"
        )),
        None => Ok(()),
    }
}
