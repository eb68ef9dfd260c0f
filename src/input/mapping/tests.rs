use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn map(resource: Resource, list: &[&str]) -> Result<MappedHeader, MappingError> {
    map_header(resource, &names(list), None)
}

fn canonicals(header: &MappedHeader) -> Vec<Option<&str>> {
    header.columns.iter().map(|c| c.as_ref().map(|c| c.canonical.as_str())).collect()
}

#[test]
fn api_names_map_to_themselves_trimmed_and_ignoring_case() {
    let h =
        map(Resource::Organizations, &[" Name ", "EXTERNAL_ID", "domain_names", "tags"]).unwrap();
    assert_eq!(h.dialect, Dialect::Api);
    assert_eq!(
        canonicals(&h),
        [Some("name"), Some("external_id"), Some("domain_names"), Some("tags")]
    );
    assert_eq!(h.separator("tags"), Some(ListSeparator::Any));
    assert_eq!(h.separator("domain_names"), Some(ListSeparator::Any));
    assert_eq!(h.separator("name"), None);
    assert_eq!(h.index_of("domain_names"), Some(2));
}

#[test]
fn custom_field_keys_keep_their_case() {
    let h = map(Resource::Organizations, &["name", "Organization_Fields.Region_Code"]).unwrap();
    let column = h.columns[1].as_ref().unwrap();
    assert_eq!(column.canonical, "organization_fields.Region_Code");
    assert_eq!(column.custom_field_key(), Some("Region_Code"));
    assert_eq!(column.separator, Some(ListSeparator::Any));
}

#[test]
fn legacy_organization_headers() {
    let h = map(
        Resource::Organizations,
        &["name", "default", "shared", "shared_comments", "group", "tags", "custom_fields.tier"],
    )
    .unwrap();
    assert_eq!(h.dialect, Dialect::Legacy);
    assert_eq!(
        canonicals(&h),
        [
            Some("name"),
            Some("domain_names"),
            Some("shared_tickets"),
            Some("shared_comments"),
            Some("group_id"),
            Some("tags"),
            Some("organization_fields.tier"),
        ]
    );
    assert_eq!(h.separator("domain_names"), Some(ListSeparator::Spaces));
    assert_eq!(h.separator("tags"), Some(ListSeparator::Spaces));
}

#[test]
fn legacy_user_headers() {
    let h = map(
        Resource::Users,
        &["name", "email", "restriction", "organization", "tags", "custom_fields.dept"],
    )
    .unwrap();
    assert_eq!(h.dialect, Dialect::Legacy);
    assert_eq!(
        canonicals(&h),
        [
            Some("name"),
            Some("email"),
            Some("ticket_restriction"),
            Some("organization"),
            Some("tags"),
            Some("user_fields.dept"),
        ]
    );
    assert_eq!(h.separator("organization"), Some(ListSeparator::Pipes));
    assert_eq!(h.separator("tags"), Some(ListSeparator::Commas));
    assert_eq!(h.separator("email"), None);
}

#[test]
fn legacy_brand_is_ignored_with_a_warning() {
    let h = map(Resource::Users, &["name", "email", "restriction", "brand"]).unwrap();
    assert_eq!(h.columns[3], None);
    assert!(h.warnings.iter().any(|w| w.contains("'brand'")), "{:?}", h.warnings);
}

#[test]
fn data_importer_user_headers() {
    let h = map(
        Resource::Users,
        &[
            "name",
            "emails",
            "ticket_restriction",
            "phones",
            "shared_phone",
            "organizations",
            "tags",
        ],
    )
    .unwrap();
    assert_eq!(h.dialect, Dialect::DataImporter);
    assert_eq!(
        canonicals(&h),
        [
            Some("name"),
            Some("email"),
            Some("ticket_restriction"),
            Some("phone"),
            Some("shared_phone_number"),
            Some("organizations"),
            Some("tags"),
        ]
    );
    assert_eq!(h.separator("email"), Some(ListSeparator::Pipes));
    assert_eq!(h.separator("phone"), Some(ListSeparator::Pipes));
    assert_eq!(h.separator("organizations"), Some(ListSeparator::Pipes));
    assert_eq!(h.separator("tags"), Some(ListSeparator::Commas));
}

#[test]
fn data_importer_organization_headers_read_as_api_names() {
    let h = map(
        Resource::Organizations,
        &["name", "external_id", "notes", "details", "domain_names", "group_id", "tags"],
    )
    .unwrap();
    assert_eq!(h.dialect, Dialect::Api);
    assert_eq!(ListSeparator::Any.split("a.com|b.com"), ["a.com", "b.com"]);
}

#[test]
fn mixed_legacy_and_data_importer_is_an_error_naming_both() {
    let err = map(Resource::Organizations, &["name", "default", "domain_names"]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MappingError::MixedDialect { .. }));
    assert!(text.contains("'default'") && text.contains("'domain_names'"), "{text}");

    let err = map(Resource::Users, &["name", "emails", "restriction"]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("'emails'") && text.contains("'restriction'"), "{text}");
}

#[test]
fn unknown_columns_are_listed_with_suggestions() {
    let err = map(Resource::Organizations, &["name", "extrnal_id", "zzz"]).unwrap_err();
    let MappingError::UnknownColumns { columns } = &err else { panic!("{err:?}") };
    assert_eq!(columns.len(), 2);
    assert_eq!(
        err.to_string(),
        "unknown column 'extrnal_id' (did you mean 'external_id'?); unknown column 'zzz'"
    );
}

#[test]
fn headers_with_spaces_hyphens_and_capitals_read_as_the_api_names() {
    let m = map(
        Resource::Organizations,
        &["Name", "External ID", "Domain Names", "shared-tickets", " Organization  Fields.tier"],
    );
    let err = m.unwrap_err().to_string();
    // A custom-field prefix is not normalised: its key is the account's, as written.
    assert!(err.contains("Organization  Fields.tier"), "{err}");
    let m =
        map(Resource::Organizations, &["Name", "External ID", "Domain Names", "shared-tickets"])
            .unwrap();
    let names: Vec<&str> = m.mapped().map(|c| c.canonical.as_str()).collect();
    assert_eq!(names, ["name", "external_id", "domain_names", "shared_tickets"]);
    let twice = map(Resource::Users, &["email", "External ID", "external_id"]).unwrap_err();
    assert!(twice.to_string().contains("External ID"), "the same column twice: {twice}");
}

#[test]
fn misspelt_prefix_suggests_the_right_one_with_the_key() {
    let err = map(Resource::Users, &["email", "user_field.Dept"]).unwrap_err();
    assert!(err.to_string().contains("did you mean 'user_fields.Dept'"), "{err}");
}

#[test]
fn a_column_of_the_other_resource_says_so() {
    let err = map(Resource::Users, &["email", "domain_names"]).unwrap_err();
    assert!(err.to_string().contains("organizations"), "{err}");
}

#[test]
fn unsupported_importer_columns_are_named() {
    let err = map(Resource::Users, &["email", "signature"]).unwrap_err();
    assert!(err.to_string().starts_with("unsupported column 'signature'"), "{err}");
}

#[test]
fn empty_custom_field_key_is_an_error() {
    let err = map(Resource::Organizations, &["name", "organization_fields."]).unwrap_err();
    assert!(err.to_string().contains("no custom field key"), "{err}");
}

#[test]
fn duplicates_after_mapping_name_both_headers() {
    let err = map(Resource::Users, &["email", "emails"]).unwrap_err();
    assert_eq!(err.to_string(), "columns 'email' and 'emails' both set 'email'");
    let err = map(Resource::Users, &["user_fields.a", "custom_fields.a"]).unwrap_err();
    assert!(matches!(err, MappingError::DuplicateColumn { .. }), "{err}");
}

#[test]
fn error_column_and_blank_headers_are_ignored() {
    let h = map(Resource::Organizations, &["name", "zdbulk_error", "  "]).unwrap();
    assert_eq!(canonicals(&h), [Some("name"), None, None]);
    assert_eq!(h.warnings, ["column 3 has no header; its values are ignored"]);
}

#[test]
fn renames_apply_before_aliases() {
    let renames =
        Renames::new([("Company", "name"), ("Mail Domains", "default"), ("Internal", "")]).unwrap();
    let raw = names(&["company", "Mail Domains", "internal"]);
    let h = map_header(Resource::Organizations, &raw, Some(&renames)).unwrap();
    assert_eq!(canonicals(&h), [Some("name"), Some("domain_names"), None]);
    assert_eq!(h.dialect, Dialect::Legacy);
    assert_eq!(h.columns[0].as_ref().unwrap().raw, "company");
}

#[test]
fn a_rename_to_an_unknown_name_names_both() {
    let renames = Renames::new([("Company", "nam")]).unwrap();
    let err =
        map_header(Resource::Organizations, &names(&["Company"]), Some(&renames)).unwrap_err();
    assert!(err.to_string().contains("'Company' renamed to 'nam'"), "{err}");
}

#[test]
fn renaming_a_column_twice_is_refused() {
    assert!(Renames::new([("a", "name"), ("A ", "notes")]).is_err());
}

#[test]
fn field_definition_columns() {
    let h = map(Resource::OrganizationFields, &["key", "title", "type", "options"]).unwrap();
    assert_eq!(h.dialect, Dialect::Api);
    assert!(map(Resource::UserFields, &["key", "titel"]).is_err());
}

#[test]
fn list_separators_split() {
    assert_eq!(ListSeparator::Spaces.split(" a.com  b.com "), ["a.com", "b.com"]);
    assert_eq!(ListSeparator::Commas.split("vip, gold,,x y"), ["vip", "gold", "x y"]);
    assert_eq!(ListSeparator::Pipes.split("Acme, Inc|Beta"), ["Acme, Inc", "Beta"]);
    assert_eq!(ListSeparator::Any.split("a b,c|d"), ["a", "b", "c", "d"]);
}
