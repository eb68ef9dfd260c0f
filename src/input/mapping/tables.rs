//! The column names each resource accepts: the API's own names, the aliases Zendesk's legacy
//! importer and data importer use (`zendesk-csv-formats.md` §1–§4), and the list separator each
//! list column takes in each dialect (§7.4, `design.md` §2).

use crate::resource::Resource;

use super::{Dialect, ListSeparator};

/// Which dialect a header name belongs to, for recognising the file's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    /// Used by the API and the importers alike: says nothing about the dialect.
    Common,
    /// Only Zendesk's legacy Bulk actions importer writes this name.
    Legacy,
    /// Only Zendesk's data importer writes this name.
    DataImporter,
    /// The API's (and data importer's) spelling of something the legacy importer names
    /// differently; cannot appear in a legacy file (`default` and `domain_names` "can't be used
    /// together", O1).
    NotLegacy,
}

impl Tag {
    /// How an error message describes where the name comes from.
    pub(super) fn origin(self) -> &'static str {
        match self {
            Tag::Common => "common to every format",
            Tag::Legacy => "Zendesk's legacy bulk import",
            Tag::DataImporter => "Zendesk's data importer",
            Tag::NotLegacy => "the API and Zendesk's data importer",
        }
    }
}

/// One accepted header name (lowercase) and the canonical column it stands for.
pub(super) struct Name {
    pub(super) name: &'static str,
    pub(super) canonical: &'static str,
    pub(super) tag: Tag,
}

const fn n(name: &'static str, canonical: &'static str, tag: Tag) -> Name {
    Name { name, canonical, tag }
}

/// A custom-field prefix (lowercase, with its dot) and the canonical prefix it stands for.
pub(super) struct Prefix {
    pub(super) prefix: &'static str,
    pub(super) canonical: &'static str,
    pub(super) tag: Tag,
}

const fn p(prefix: &'static str, canonical: &'static str, tag: Tag) -> Prefix {
    Prefix { prefix, canonical, tag }
}

/// Every name a resource accepts.
pub(super) struct Table {
    pub(super) names: &'static [Name],
    pub(super) prefixes: &'static [Prefix],
    /// Names read and dropped, with the warning to show.
    pub(super) ignored: &'static [(&'static str, &'static str)],
    /// Importer columns zdbulk does not import: an error, not a silent drop.
    pub(super) unsupported: &'static [&'static str],
}

const ORGANIZATIONS: Table = Table {
    names: &[
        n("name", "name", Tag::Common),
        n("external_id", "external_id", Tag::Common),
        n("domain_names", "domain_names", Tag::NotLegacy),
        n("tags", "tags", Tag::Common),
        n("details", "details", Tag::Common),
        n("notes", "notes", Tag::Common),
        n("group_id", "group_id", Tag::NotLegacy),
        n("shared_tickets", "shared_tickets", Tag::NotLegacy),
        n("shared_comments", "shared_comments", Tag::Common),
        n("id", "id", Tag::Common),
        n("default", "domain_names", Tag::Legacy),
        n("shared", "shared_tickets", Tag::Legacy),
        // UNVERIFIED: whether legacy `group` holds a group's name or its id. Both are taken:
        // a whole number is an id, anything else a name the planner resolves (issue 13).
        n("group", "group_id", Tag::Legacy),
    ],
    prefixes: &[
        p("organization_fields.", "organization_fields.", Tag::NotLegacy),
        p("custom_fields.", "organization_fields.", Tag::Legacy),
    ],
    ignored: &[],
    unsupported: &[],
};

const USERS: Table = Table {
    names: &[
        n("name", "name", Tag::Common),
        n("email", "email", Tag::Common),
        n("external_id", "external_id", Tag::Common),
        n("role", "role", Tag::Common),
        n("phone", "phone", Tag::Common),
        n("organization", "organization", Tag::Common),
        n("organization_id", "organization_id", Tag::Common),
        n("tags", "tags", Tag::Common),
        n("details", "details", Tag::Common),
        n("notes", "notes", Tag::Common),
        n("time_zone", "time_zone", Tag::Common),
        n("locale", "locale", Tag::Common),
        n("verified", "verified", Tag::Common),
        n("skip_verify_email", "skip_verify_email", Tag::Common),
        n("id", "id", Tag::Common),
        n("custom_role_id", "custom_role_id", Tag::Common),
        n("ticket_restriction", "ticket_restriction", Tag::NotLegacy),
        n("shared_phone_number", "shared_phone_number", Tag::Common),
        n("restriction", "ticket_restriction", Tag::Legacy),
        n("emails", "email", Tag::DataImporter),
        n("phones", "phone", Tag::DataImporter),
        // The data importer's list; in API files the memberships besides the default one.
        n("organizations", "organizations", Tag::Common),
        n("shared_phone", "shared_phone_number", Tag::DataImporter),
    ],
    prefixes: &[
        p("user_fields.", "user_fields.", Tag::Common),
        // Both of Zendesk's importers spell user custom fields this way (§3, §4), so the prefix
        // says nothing about which one wrote the file.
        p("custom_fields.", "user_fields.", Tag::Common),
    ],
    ignored: &[(
        "brand",
        "column 'brand' only picks the welcome email's brand in Zendesk's legacy importer; \
         zdbulk ignores it",
    )],
    // Data-importer user columns (§4) outside zdbulk's user columns: refusing them beats
    // dropping a value the user meant to import.
    unsupported: &[
        "custom_role",
        "local_id",
        "moderator",
        "only_private_comments",
        "remote_photo_url",
        "signature",
        "suspended",
        "alias",
        "default_group_id",
    ],
};

/// Field-definition files (`design.md` §2).
const FIELDS: Table = Table {
    names: &[
        n("key", "key", Tag::Common),
        n("title", "title", Tag::Common),
        n("type", "type", Tag::Common),
        n("description", "description", Tag::Common),
        n("position", "position", Tag::Common),
        n("active", "active", Tag::Common),
        n("regexp_for_validation", "regexp_for_validation", Tag::Common),
        n("tag", "tag", Tag::Common),
        n("options", "options", Tag::Common),
    ],
    prefixes: &[],
    ignored: &[],
    unsupported: &[],
};

/// The names `resource` accepts.
pub(super) fn table(resource: Resource) -> &'static Table {
    match resource {
        Resource::Organizations => &ORGANIZATIONS,
        Resource::Users => &USERS,
        Resource::OrganizationFields | Resource::UserFields | Resource::Memberships => &FIELDS,
    }
}

/// The resource whose columns a file of `resource` is most often confused with.
pub(super) fn sibling(resource: Resource) -> Option<(Resource, &'static str)> {
    match resource {
        Resource::Organizations => Some((Resource::Users, "users")),
        Resource::Users => Some((Resource::Organizations, "organizations")),
        Resource::OrganizationFields | Resource::UserFields | Resource::Memberships => None,
    }
}

/// How the values of `canonical`, written under header `name` (lowercase, or a prefix), are
/// split into a list, or `None` for a single-valued column.
pub(super) fn separator(
    resource: Resource,
    canonical: &str,
    name: &str,
    dialect: Dialect,
) -> Option<ListSeparator> {
    use ListSeparator::{Any, Commas, Pipes, Spaces};
    if canonical.ends_with('.') {
        // Multiselect values are option tags, which hold no spaces, commas or pipes, so any
        // separator is safe. UNVERIFIED: which one Zendesk's importers use for multiselect.
        return Some(Any);
    }
    match (resource, canonical) {
        (Resource::Organizations, "domain_names" | "tags") => Some(match dialect {
            // Legacy `default` and `tags` are "separated with spaces" (O1).
            Dialect::Legacy => Spaces,
            Dialect::DataImporter => Pipes,
            Dialect::Api => Any,
        }),
        (Resource::Users, "tags") => Some(match dialect {
            // Both importers say "separate each tag with a comma" (U1, U2).
            Dialect::Legacy | Dialect::DataImporter => Commas,
            Dialect::Api => Any,
        }),
        // Organization names may hold spaces and commas but never `|` (Zendesk refuses such
        // names), so pipes are the one safe separator in every dialect.
        (Resource::Users, "organization" | "organizations") => Some(Pipes),
        (Resource::Users, "email" | "phone") if name == "emails" || name == "phones" => Some(Pipes),
        _ => None,
    }
}
