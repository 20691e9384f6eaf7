//! The predefined SCO extensions (sections 6.7.2 to 6.16.2): their property tables and MUSTs.
//!
//! These are keyed by name in an SCO's `extensions` dictionary and, unlike section 7.3
//! extensions, carry no `extension_type`. Any other `-ext` key is a custom object extension
//! (section 11.3, deprecated): allowed on SCOs, its contents are the producer's business.

use serde_json::{Map, Value};

use crate::timestamp::Timestamp;
use crate::validate::{Checker, Rule};

use super::rules::{check_dictionary_values, has_any, is_integer, is_string, is_string_list};
use super::{Kind, Prop, opt, req};

/// A predefined extension of one or more SCO types.
#[derive(Debug)]
pub struct ExtensionSpec {
    /// The key in `extensions`, e.g. `archive-ext`.
    pub name: &'static str,
    /// The SCO types the extension is defined for.
    pub applies_to: &'static [&'static str],
    pub properties: &'static [Prop],
}

const STRING: Kind = Kind::String;
const STRINGS: Kind = Kind::List(&Kind::String);
const BOOLEAN: Kind = Kind::Boolean;
const INTEGER: Kind = Kind::Integer {
    min: None,
    max: None,
};
const NON_NEGATIVE: Kind = Kind::Integer {
    min: Some(0),
    max: None,
};
const HEX: Kind = Kind::Hex;
const HASHES: Kind = Kind::Hashes;
const DICTIONARY: Kind = Kind::Dictionary;

/// `alternate-data-stream-type` (section 6.7.3.2).
const ALTERNATE_DATA_STREAM: &[Prop] = &[
    req("name", STRING),
    opt("hashes", HASHES),
    opt("size", NON_NEGATIVE),
];

/// `windows-pe-optional-header-type` (section 6.7.6.2). "At least one property" is a rule.
const WINDOWS_PE_OPTIONAL_HEADER: &[Prop] = &[
    opt("magic_hex", HEX),
    opt("major_linker_version", INTEGER),
    opt("minor_linker_version", INTEGER),
    opt("size_of_code", NON_NEGATIVE),
    opt("size_of_initialized_data", NON_NEGATIVE),
    opt("size_of_uninitialized_data", NON_NEGATIVE),
    opt("address_of_entry_point", INTEGER),
    opt("base_of_code", INTEGER),
    opt("base_of_data", INTEGER),
    opt("image_base", INTEGER),
    opt("section_alignment", INTEGER),
    opt("file_alignment", INTEGER),
    opt("major_os_version", INTEGER),
    opt("minor_os_version", INTEGER),
    opt("major_image_version", INTEGER),
    opt("minor_image_version", INTEGER),
    opt("major_subsystem_version", INTEGER),
    opt("minor_subsystem_version", INTEGER),
    opt("win32_version_value_hex", HEX),
    opt("size_of_image", NON_NEGATIVE),
    opt("size_of_headers", NON_NEGATIVE),
    opt("checksum_hex", HEX),
    opt("subsystem_hex", HEX),
    opt("dll_characteristics_hex", HEX),
    opt("size_of_stack_reserve", NON_NEGATIVE),
    opt("size_of_stack_commit", NON_NEGATIVE),
    opt("size_of_heap_reserve", NON_NEGATIVE),
    opt("size_of_heap_commit", NON_NEGATIVE),
    opt("loader_flags_hex", HEX),
    opt("number_of_rva_and_sizes", INTEGER),
    opt("hashes", HASHES),
];

/// `windows-pe-section-type` (section 6.7.6.3). Shannon entropy over bytes lies in 0..=8.
const WINDOWS_PE_SECTION: &[Prop] = &[
    req("name", STRING),
    opt("size", NON_NEGATIVE),
    opt(
        "entropy",
        Kind::Float {
            min: Some(0.0),
            max: Some(8.0),
        },
    ),
    opt("hashes", HASHES),
];

/// `network-socket-address-family-enum` (section 10.16).
pub(super) const SOCKET_ADDRESS_FAMILY_ENUM: &[&str] = &[
    "AF_UNSPEC",
    "AF_INET",
    "AF_IPX",
    "AF_APPLETALK",
    "AF_NETBIOS",
    "AF_INET6",
    "AF_IRDA",
    "AF_BTH",
];
/// `network-socket-type-enum` (section 10.17).
pub(super) const SOCKET_TYPE_ENUM: &[&str] = &[
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_RDM",
    "SOCK_SEQPACKET",
];
/// `windows-integrity-level-enum` (section 10.27).
pub(super) const WINDOWS_INTEGRITY_LEVEL_ENUM: &[&str] = &["low", "medium", "high", "system"];
/// `windows-service-start-type-enum` (section 10.30).
pub(super) const WINDOWS_SERVICE_START_TYPE_ENUM: &[&str] = &[
    "SERVICE_AUTO_START",
    "SERVICE_BOOT_START",
    "SERVICE_DEMAND_START",
    "SERVICE_DISABLED",
    "SERVICE_SYSTEM_ALERT",
];
/// `windows-service-type-enum` (section 10.31).
pub(super) const WINDOWS_SERVICE_TYPE_ENUM: &[&str] = &[
    "SERVICE_KERNEL_DRIVER",
    "SERVICE_FILE_SYSTEM_DRIVER",
    "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS",
];
/// `windows-service-status-enum` (section 10.32).
pub(super) const WINDOWS_SERVICE_STATUS_ENUM: &[&str] = &[
    "SERVICE_CONTINUE_PENDING",
    "SERVICE_PAUSE_PENDING",
    "SERVICE_PAUSED",
    "SERVICE_RUNNING",
    "SERVICE_START_PENDING",
    "SERVICE_STOP_PENDING",
    "SERVICE_STOPPED",
];

/// Every predefined extension, sorted by name (looked up by binary search).
pub static PREDEFINED_EXTENSIONS: &[ExtensionSpec] = &[
    // 6.7.2
    ExtensionSpec {
        name: "archive-ext",
        applies_to: &["file"],
        properties: &[
            req(
                "contains_refs",
                Kind::List(&Kind::Identifier(&["file", "directory"])),
            ),
            opt("comment", STRING),
        ],
    },
    // 6.12.2. request_header values are lists of strings: rule.
    ExtensionSpec {
        name: "http-request-ext",
        applies_to: &["network-traffic"],
        properties: &[
            req("request_method", STRING),
            req("request_value", STRING),
            opt("request_version", STRING),
            opt("request_header", DICTIONARY),
            opt("message_body_length", NON_NEGATIVE),
            opt("message_body_data_ref", Kind::Identifier(&["artifact"])),
        ],
    },
    // 6.12.3
    ExtensionSpec {
        name: "icmp-ext",
        applies_to: &["network-traffic"],
        properties: &[req("icmp_type_hex", HEX), req("icmp_code_hex", HEX)],
    },
    // 6.7.3. At least one property: rule.
    ExtensionSpec {
        name: "ntfs-ext",
        applies_to: &["file"],
        properties: &[
            opt("sid", STRING),
            opt(
                "alternate_data_streams",
                Kind::List(&Kind::Object(ALTERNATE_DATA_STREAM)),
            ),
        ],
    },
    // 6.7.4. At least one property and string values in document_info_dict: rules.
    ExtensionSpec {
        name: "pdf-ext",
        applies_to: &["file"],
        properties: &[
            opt("version", STRING),
            opt("is_optimized", BOOLEAN),
            opt("document_info_dict", DICTIONARY),
            opt("pdfid0", STRING),
            opt("pdfid1", STRING),
        ],
    },
    // 6.7.5. At least one property and integer-or-string exif_tags values: rules. The
    // `image_compression_algorithm` of the schema is a STIX 2.0 property that 2.1 dropped.
    ExtensionSpec {
        name: "raster-image-ext",
        applies_to: &["file"],
        properties: &[
            opt("image_height", INTEGER),
            opt("image_width", INTEGER),
            opt("bits_per_pixel", INTEGER),
            opt("exif_tags", DICTIONARY),
        ],
    },
    // 6.12.4. Integer option values: rule.
    ExtensionSpec {
        name: "socket-ext",
        applies_to: &["network-traffic"],
        properties: &[
            req("address_family", Kind::Enum(SOCKET_ADDRESS_FAMILY_ENUM)),
            opt("is_blocking", BOOLEAN),
            opt("is_listening", BOOLEAN),
            opt("options", DICTIONARY),
            opt("socket_type", Kind::Enum(SOCKET_TYPE_ENUM)),
            opt("socket_descriptor", NON_NEGATIVE),
            opt("socket_handle", INTEGER),
        ],
    },
    // 6.12.5. At least one property: rule.
    ExtensionSpec {
        name: "tcp-ext",
        applies_to: &["network-traffic"],
        properties: &[opt("src_flags_hex", HEX), opt("dst_flags_hex", HEX)],
    },
    // 6.16.2. At least one property: rule.
    ExtensionSpec {
        name: "unix-account-ext",
        applies_to: &["user-account"],
        properties: &[
            opt("gid", INTEGER),
            opt("groups", STRINGS),
            opt("home_dir", STRING),
            opt("shell", STRING),
        ],
    },
    // 6.7.6. A property besides pe_type, a second-precise time_date_stamp and a non-empty
    // optional_header: rules.
    ExtensionSpec {
        name: "windows-pebinary-ext",
        applies_to: &["file"],
        properties: &[
            req("pe_type", STRING),
            opt("imphash", STRING),
            opt("machine_hex", HEX),
            opt("number_of_sections", NON_NEGATIVE),
            opt("time_date_stamp", Kind::Timestamp),
            opt("pointer_to_symbol_table_hex", HEX),
            opt("number_of_symbols", NON_NEGATIVE),
            opt("size_of_optional_header", NON_NEGATIVE),
            opt("characteristics_hex", HEX),
            opt("file_header_hashes", HASHES),
            opt("optional_header", Kind::Object(WINDOWS_PE_OPTIONAL_HEADER)),
            opt("sections", Kind::List(&Kind::Object(WINDOWS_PE_SECTION))),
        ],
    },
    // 6.13.2. At least one property: rule. The Errata 01 markdown spells `windows_title`;
    // STIX 2.1 OS, the schema and cti-python-stix2 say `window_title`.
    ExtensionSpec {
        name: "windows-process-ext",
        applies_to: &["process"],
        properties: &[
            opt("aslr_enabled", BOOLEAN),
            opt("dep_enabled", BOOLEAN),
            opt("priority", STRING),
            opt("owner_sid", STRING),
            opt("window_title", STRING),
            opt("startup_info", DICTIONARY),
            opt("integrity_level", Kind::Enum(WINDOWS_INTEGRITY_LEVEL_ENUM)),
        ],
    },
    // 6.13.3. At least one property: rule.
    ExtensionSpec {
        name: "windows-service-ext",
        applies_to: &["process"],
        properties: &[
            opt("service_name", STRING),
            opt("descriptions", STRINGS),
            opt("display_name", STRING),
            opt("group_name", STRING),
            opt("start_type", Kind::Enum(WINDOWS_SERVICE_START_TYPE_ENUM)),
            opt("service_dll_refs", Kind::List(&Kind::Identifier(&["file"]))),
            opt("service_type", Kind::Enum(WINDOWS_SERVICE_TYPE_ENUM)),
            opt("service_status", Kind::Enum(WINDOWS_SERVICE_STATUS_ENUM)),
        ],
    },
];

/// The predefined extension named `key`, or `None` for a custom one.
pub fn predefined_extension(key: &str) -> Option<&'static ExtensionSpec> {
    PREDEFINED_EXTENSIONS
        .binary_search_by(|e| e.name.cmp(key))
        .ok()
        .map(|i| &PREDEFINED_EXTENSIONS[i])
}

pub(super) fn check(check: &mut Checker<'_>, key: &str, body: &Map<String, Value>, path: &str) {
    let Some(extension) = predefined_extension(key) else {
        return;
    };
    for prop in extension.properties {
        let child = format!("{path}.{}", prop.name);
        match body.get(prop.name) {
            Some(value) => check.check_kind(&child, value, &prop.kind),
            None if prop.required => {
                check.fail(
                    child,
                    Rule::RequiredProperty,
                    format!("the required property {:?} of {key} is missing", prop.name),
                );
            }
            None => {}
        }
    }

    // "An object using the ... Extension MUST contain at least one property from this
    // extension." An empty body is already reported by `validate`; this catches a body that
    // holds only custom properties.
    let needs_own_property = matches!(
        key,
        "ntfs-ext"
            | "pdf-ext"
            | "raster-image-ext"
            | "tcp-ext"
            | "unix-account-ext"
            | "windows-process-ext"
            | "windows-service-ext"
    );
    if needs_own_property
        && !body.is_empty()
        && !has_any(body, extension.properties.iter().map(|p| p.name))
    {
        check.fail(
            path,
            Rule::Constraint,
            format!("{key} must hold at least one of its own properties"),
        );
    }

    match key {
        "windows-pebinary-ext" => check_pebinary(check, body, path),
        "raster-image-ext" => check_dictionary_values(
            check,
            body,
            "exif_tags",
            path,
            |v| is_integer(v) || is_string(v),
            "an EXIF tag value must be an integer or a string",
        ),
        "pdf-ext" => check_dictionary_values(
            check,
            body,
            "document_info_dict",
            path,
            is_string,
            "a document information dictionary value must be a string",
        ),
        "http-request-ext" => check_dictionary_values(
            check,
            body,
            "request_header",
            path,
            is_string_list,
            "an HTTP header value must be a list of strings",
        ),
        "socket-ext" => check_dictionary_values(
            check,
            body,
            "options",
            path,
            is_integer,
            "a socket option value must be an integer",
        ),
        _ => {}
    }
}

fn check_pebinary(check: &mut Checker<'_>, body: &Map<String, Value>, path: &str) {
    if body.contains_key("pe_type") && !body.keys().any(|k| k != "pe_type") {
        check.fail(
            path,
            Rule::Constraint,
            "windows-pebinary-ext must hold at least one property besides pe_type",
        );
    }
    // "The timestamp value MUST be precise to the second": no fractional seconds.
    if let Some(Ok(stamp)) = body
        .get("time_date_stamp")
        .and_then(Value::as_str)
        .map(Timestamp::parse)
        && stamp.fraction_digits > 0
    {
        check.fail(
            format!("{path}.time_date_stamp"),
            Rule::TimestampFormat,
            "time_date_stamp must be precise to the second, without fractional seconds",
        );
    }
    if let Some(Value::Object(header)) = body.get("optional_header")
        && !has_any(header, WINDOWS_PE_OPTIONAL_HEADER.iter().map(|p| p.name))
    {
        check.fail(
            format!("{path}.optional_header"),
            Rule::Constraint,
            "optional_header must hold at least one property of windows-pe-optional-header-type",
        );
    }
}
