//! The node's collections: a small fixed set of views of its one store, each with who may read
//! and write it.
//!
//! | alias      | holds                                   | partners        | analysts     |
//! | ---------- | --------------------------------------- | --------------- | ------------ |
//! | `shared`   | everything the node holds               | read (released) | read, write  |
//! | `inbox`    | what partners pushed (`peer:` sources)  | write only      | read         |
//! | `internal` | the node's own (every other source)     | not visible     | read, write  |
//!
//! Whatever the collection, objects leave through the release policy; for analysts it
//! releases everything. A collection a caller can neither read nor write answers 404, exactly
//! like one that does not exist; one it can see but not use as asked answers 403. Deleting is
//! for analysts only, in a collection they can read, and withdraws the object from the node.

use policy::Role;
use serde_json::{Value, json};
use store::query::SourceFilter;

use super::error::TaxiiError;
use super::media::STIX_MEDIA_TYPE;

/// The source label prefix of versions pushed by partners (`peer:bfv`).
pub(crate) const PEER_SOURCE_PREFIX: &str = "peer:";

/// One collection.
pub(crate) struct Collection {
    pub id: &'static str,
    pub alias: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    partners_read: bool,
    partners_write: bool,
    analysts_read: bool,
    analysts_write: bool,
    holds: Holds,
}

#[derive(Clone, Copy)]
enum Holds {
    Everything,
    Received,
    Own,
}

/// What a request wants to do with a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// See its description.
    See,
    Read,
    Write,
    Delete,
}

pub(crate) const COLLECTIONS: [Collection; 3] = [
    Collection {
        id: "2e8f6a4c-1d3b-4c5e-9f7a-0b1c2d3e4f50",
        alias: "shared",
        title: "Shared",
        description: "Everything this node holds, as its release policy gives it to you.",
        partners_read: true,
        partners_write: false,
        analysts_read: true,
        analysts_write: true,
        holds: Holds::Everything,
    },
    Collection {
        id: "7b1d9e2f-4a6c-4e8b-a0c2-d4e6f8a0b2c4",
        alias: "inbox",
        title: "Inbox",
        description: "Intelligence pushed to this node by its partners, for its analysts.",
        partners_read: false,
        partners_write: true,
        analysts_read: true,
        analysts_write: false,
        holds: Holds::Received,
    },
    Collection {
        id: "c3e5a7b9-d1f3-4a5c-8e7a-9b1d3f5a7c9e",
        alias: "internal",
        title: "Internal",
        description: "This node's own intelligence (imports and analysts' work), for its analysts.",
        partners_read: false,
        partners_write: false,
        analysts_read: true,
        analysts_write: true,
        holds: Holds::Own,
    },
];

impl Collection {
    pub(crate) fn can_read(&self, role: Role) -> bool {
        match role {
            Role::Analyst => self.analysts_read,
            Role::Partner => self.partners_read,
        }
    }

    pub(crate) fn can_write(&self, role: Role) -> bool {
        match role {
            Role::Analyst => self.analysts_write,
            Role::Partner => self.partners_write,
        }
    }

    fn visible(&self, role: Role) -> bool {
        self.can_read(role) || self.can_write(role)
    }

    /// The store filter that makes this view.
    pub(crate) fn sources(&self) -> SourceFilter {
        match self.holds {
            Holds::Everything => SourceFilter::Any,
            Holds::Received => SourceFilter::Prefixed(PEER_SOURCE_PREFIX.to_string()),
            Holds::Own => SourceFilter::NotPrefixed(PEER_SOURCE_PREFIX.to_string()),
        }
    }

    /// The TAXII collection resource, as this caller may use it.
    pub(crate) fn resource(&self, role: Role) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "alias": self.alias,
            "can_read": self.can_read(role),
            "can_write": self.can_write(role),
            "media_types": [STIX_MEDIA_TYPE],
        })
    }
}

/// The collections this caller can see.
pub(crate) fn visible(role: Role) -> impl Iterator<Item = &'static Collection> {
    COLLECTIONS.iter().filter(move |c| c.visible(role))
}

/// The collection named by id or alias, if this caller may do `access` with it.
pub(crate) fn resolve(
    key: &str,
    role: Role,
    access: Access,
) -> Result<&'static Collection, TaxiiError> {
    let not_found = || TaxiiError::not_found(format!("no collection {key:?} on this API root"));
    let collection = COLLECTIONS
        .iter()
        .find(|c| c.id == key || c.alias == key)
        .ok_or_else(not_found)?;
    if !collection.visible(role) {
        // Exactly as for a collection that does not exist: its existence is not revealed.
        return Err(not_found());
    }
    let allowed = match access {
        Access::See => true,
        Access::Read => collection.can_read(role),
        Access::Write => collection.can_write(role),
        Access::Delete => role == Role::Analyst && collection.can_read(role),
    };
    if allowed {
        Ok(collection)
    } else {
        Err(TaxiiError::forbidden(match access {
            Access::See => unreachable!("seeing a visible collection is always allowed"),
            Access::Read => format!("you may not read collection {key:?}"),
            Access::Write => format!("you may not add objects to collection {key:?}"),
            Access::Delete => {
                format!("only this node's analysts may delete objects from collection {key:?}")
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn hides_what_a_partner_may_not_see() {
        let status = |key, role, access| resolve(key, role, access).err().map(|e| e.status());
        assert_eq!(status("shared", Role::Partner, Access::Read), None);
        assert_eq!(
            status("shared", Role::Partner, Access::Write),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status("inbox", Role::Partner, Access::Read),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(status("inbox", Role::Partner, Access::Write), None);
        assert_eq!(
            status("internal", Role::Partner, Access::See),
            status("no-such-collection", Role::Partner, Access::See)
        );
        assert_eq!(
            status(COLLECTIONS[2].id, Role::Partner, Access::Read),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(status("internal", Role::Analyst, Access::Delete), None);
        assert_eq!(visible(Role::Partner).count(), 2);
        assert_eq!(visible(Role::Analyst).count(), 3);
    }
}
