//! Static description of an entity set: which properties exist, their types, where they live in SQL,
//! and what each query option may do with them.

/// The value type of a property, which decides which literals it may be compared with and how it is
/// stored in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Free text. SQLite `TEXT`; compared with string literals.
    String,
    /// 64-bit integer. SQLite `INTEGER`; compared with number literals.
    Int,
    /// Floating point. SQLite `REAL`; compared with number literals.
    Float,
    /// Boolean. SQLite `INTEGER` 0/1; compared with `true`/`false`, only with `eq`/`ne`.
    Bool,
    /// `DateTimeOffset`. SQLite `INTEGER` unix **milliseconds**; compared with unquoted datetime
    /// literals (`2019-11-22T00:00:00Z`, `2018-08-01Z`). In entity JSON an ISO-8601 string.
    DateTime,
    /// An enum serialised as its name. SQLite `TEXT`; compared with string literals (spec §5:
    /// "Enum comparisons use string literals").
    Enum,
    /// `String[]` such as `machineTags`. SQLite `TEXT` holding a JSON array; only usable through
    /// `any`/`all` lambdas.
    StringCollection,
    /// A GUID. SQLite `TEXT`; compared with GUID literals (quoted or not), always case-insensitively.
    Guid,
}

impl Kind {
    /// The OData-ish type name used in error messages.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::String => "Edm.String",
            Kind::Int => "Edm.Int64",
            Kind::Float => "Edm.Double",
            Kind::Bool => "Edm.Boolean",
            Kind::DateTime => "Edm.DateTimeOffset",
            Kind::Enum => "Enum",
            Kind::StringCollection => "Collection(Edm.String)",
            Kind::Guid => "Edm.Guid",
        }
    }

    /// String-like kinds accept string literals, `tolower`/`toupper` and the text functions.
    pub fn is_textual(self) -> bool {
        matches!(self, Kind::String | Kind::Enum | Kind::Guid)
    }
}

/// One property of an entity set, as seen by OData.
///
/// List *every* property of the entity's JSON shape (with `filterable: false` where the API does not
/// allow filtering) so that `$select` can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// Exact (camelCase) API name; matched case-insensitively against requests because the docs
    /// themselves use both `ComputerDnsName` and `computerDnsName`.
    pub name: &'static str,
    /// Value type.
    pub kind: Kind,
    /// SQL expression that yields the stored value, e.g. `m.computer_dns_name` or
    /// `json_extract(doc, '$.x')`. Inserted verbatim into generated SQL, so it must be trusted text.
    pub column: &'static str,
    /// May appear in `$filter`.
    pub filterable: bool,
    /// May appear in `$orderby`.
    pub sortable: bool,
    /// Comparisons ignore ASCII case (SQLite `COLLATE NOCASE`). Use for values whose casing is not
    /// stable in the wild (e.g. `onboardingStatus` is `onboarded` in the docs, `Onboarded` on the wire).
    pub case_insensitive: bool,
}

impl Property {
    /// A filterable, sortable (collections: not sortable), case-sensitive property; the common case,
    /// usable in `static` schema tables.
    pub const fn new(name: &'static str, kind: Kind, column: &'static str) -> Self {
        let sortable = !matches!(kind, Kind::StringCollection);
        Property { name, kind, column, filterable: true, sortable, case_insensitive: false }
    }

    /// Same property, compared case-insensitively.
    pub const fn nocase(mut self) -> Self {
        self.case_insensitive = true;
        self
    }

    /// Same property, not allowed in `$filter`.
    pub const fn not_filterable(mut self) -> Self {
        self.filterable = false;
        self
    }

    /// Same property, not allowed in `$orderby`.
    pub const fn not_sortable(mut self) -> Self {
        self.sortable = false;
        self
    }

    /// Whether comparisons on this property use ASCII case folding (GUIDs always do).
    pub fn folds_case(&self) -> bool {
        self.case_insensitive || self.kind == Kind::Guid
    }
}

/// The OData view of one entity set (collection endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// Entity set name used in messages, e.g. `Machines`.
    pub entity_set: &'static str,
    /// Largest page the API serves (10,000 for most collections, 8,000 vulnerabilities, 100
    /// incidents — spec §5). `$top` above it is clamped, and it is the page size when `$top` is absent.
    pub max_top: u32,
    /// All properties.
    pub properties: &'static [Property],
}

impl Schema {
    /// Looks a property up by name: an exact match if there is one, else ignoring ASCII case.
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        let props: &'static [Property] = self.properties;
        props.iter().find(|p| p.name == name).or_else(|| props.iter().find(|p| p.name.eq_ignore_ascii_case(name)))
    }

    /// Names of the properties allowed in `$filter`, for error messages.
    pub fn filterable_names(&self) -> Vec<&'static str> {
        self.properties.iter().filter(|p| p.filterable).map(|p| p.name).collect()
    }

    /// Names of the properties allowed in `$orderby`, for error messages.
    pub fn sortable_names(&self) -> Vec<&'static str> {
        self.properties.iter().filter(|p| p.sortable).map(|p| p.name).collect()
    }

    /// Names of all properties (what `$select` accepts).
    pub fn names(&self) -> Vec<&'static str> {
        self.properties.iter().map(|p| p.name).collect()
    }
}
