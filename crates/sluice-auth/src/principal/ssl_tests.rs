//! Kafka's SslPrincipalMapperTest cases, and Java regex corner cases.

use super::{KafkaPrincipal, MappingError, SslPrincipalMapper};

fn valid(rules: &str) {
    SslPrincipalMapper::from_rules(rules).unwrap_or_else(|e| panic!("{rules}: {e}"));
}

fn invalid(rules: &str) {
    assert!(
        SslPrincipalMapper::from_rules(rules).is_err(),
        "{rules} should be refused"
    );
}

fn split(rules: &str) -> String {
    format!(
        "[{}]",
        SslPrincipalMapper::from_rules(rules)
            .unwrap()
            .rules()
            .join(", ")
    )
}

#[test]
fn valid_rules() {
    valid("DEFAULT");
    valid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/");
    valid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT");
    valid("RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/");
    valid("RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L");
    valid("RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U");
    valid("RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/");
    valid("RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/");
}

#[test]
fn invalid_rules() {
    invalid("default");
    invalid("DEFAUL");
    invalid("DEFAULT/L");
    invalid("DEFAULT/U");
    invalid("RULE:CN=(.*?),OU=ServiceUsers.*/$1");
    invalid("rule:^CN=(.*?),OU=ServiceUsers.*$/$1/");
    invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U");
    invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/L");
    invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/U");
    invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/LU");
    // Java-only regex syntax is refused up front.
    assert!(matches!(
        SslPrincipalMapper::from_rules("RULE:^CN=(?=x)(.*)$/$1/"),
        Err(MappingError::InvalidPattern { .. })
    ));
    assert_eq!(
        SslPrincipalMapper::from_rules("DEFAULT/L")
            .unwrap_err()
            .to_string(),
        "Invalid rule: `DEFAULT/L`, unmatched substring: `/L`"
    );
}

#[test]
fn kafka_mapper_example() {
    let rules = [
        "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
        "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
        "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
        "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
        "DEFAULT",
    ]
    .join(", ");
    let mapper = SslPrincipalMapper::from_rules(&rules).unwrap();
    let name = |dn: &str| mapper.name_for(dn).unwrap();
    assert_eq!(name("CN=Duke,OU=ServiceUsers,O=Org,C=US"), "duke");
    assert_eq!(
        name("CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US"),
        "duke@sme"
    );
    assert_eq!(name("cn=duke,ou=sme,dc=mycp,dc=com"), "DUKE@SME");
    assert_eq!(name("cN=duke,OU=JavaSoft,O=Sun Microsystems"), "DUKE");
    assert_eq!(
        name("OU=JavaSoft,O=Sun Microsystems,C=US"),
        "OU=JavaSoft,O=Sun Microsystems,C=US"
    );
    assert_eq!(
        mapper.principal_for("CN=Duke,OU=ServiceUsers").unwrap(),
        KafkaPrincipal::user("duke")
    );
}

#[test]
fn rules_splitting() {
    assert_eq!(split(""), "[]");
    assert_eq!(split("DEFAULT"), "[DEFAULT]");
    assert_eq!(split("RULE://"), "[RULE:/]");
    assert_eq!(split("RULE:/.*/"), "[RULE:/.*]");
    assert_eq!(split("RULE:/.*/L"), "[RULE:/.*/L]");
    assert_eq!(split("RULE://,DEFAULT"), "[RULE:/, DEFAULT]");
    assert_eq!(split("  RULE:// ,  DEFAULT  "), "[RULE:/, DEFAULT]");
    assert_eq!(
        split("  RULE:   /     / ,  DEFAULT  "),
        "[RULE:   /     , DEFAULT]"
    );
    assert_eq!(
        split("  RULE:  /     /U   ,DEFAULT  "),
        "[RULE:  /     /U, DEFAULT]"
    );
    assert_eq!(
        split("  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  "),
        "[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]"
    );
    // Empty rules are ignored.
    assert_eq!(split(",   , , ,      , , ,   "), "[]");
    assert_eq!(
        split(",  , RULE:// ,   ,,   , DEFAULT, ,   "),
        "[RULE:/, DEFAULT]"
    );
    // Escape sequences.
    assert_eq!(
        split(r"RULE:\/\\\(\)\n\t/\/\//"),
        r"[RULE:\/\\\(\)\n\t/\/\/]"
    );
    assert_eq!(
        split(r"RULE:\**\/+/*/L,RULE:\/*\**/**/"),
        r"[RULE:\**\/+/*/L, RULE:\/*\**/**]"
    );
    assert_eq!(
        format!("{:?}", SslPrincipalMapper::default()),
        "SslPrincipalMapper(rules = [DEFAULT])"
    );
}

#[test]
fn no_matching_rule() {
    let mapper = SslPrincipalMapper::from_rules("RULE:^CN=(.*)$/$1/").unwrap();
    assert_eq!(
        mapper.name_for("O=x"),
        Err(MappingError::NoMatchingRule("O=x".into()))
    );
    let empty = SslPrincipalMapper::from_rules("").unwrap();
    assert!(empty.name_for("CN=a").is_err());
}

#[test]
fn pattern_must_match_the_whole_name() {
    let mapper = SslPrincipalMapper::from_rules("RULE:CN=([^,]*)/$1/,DEFAULT").unwrap();
    assert_eq!(mapper.name_for("CN=a").unwrap(), "a");
    // Matches only a part: falls through to DEFAULT.
    assert_eq!(mapper.name_for("CN=a,O=b").unwrap(), "CN=a,O=b");
}

#[test]
fn java_replace_all_semantics() {
    let name = |rules: &str, dn: &str| SslPrincipalMapper::from_rules(rules).unwrap().name_for(dn);
    // Java's replaceAll also replaces the empty match at the end after `.*`.
    assert_eq!(name("RULE:.*/x/", "abc").unwrap(), "xx");
    assert_eq!(name("RULE:(.*)/[$1]/", "abc").unwrap(), "[abc][]");
    // Anchored patterns match once.
    assert_eq!(name("RULE:^(.*)$/[$1]/", "abc").unwrap(), "[abc]");
    // A missing group is literal text (Kafka's escapeLiteralBackReferences).
    assert_eq!(
        name("RULE:^CN=(.*?),O=(.*?)$/$1@$4/", "CN=a,O=b").unwrap(),
        "a@$4"
    );
    // $12 with 2 groups is group 1 then "2"; $0 is the whole match.
    assert_eq!(name("RULE:^(a)(b)$/$12|$0/", "ab").unwrap(), "a2|ab");
    // Escaped dollar and backslash.
    assert_eq!(name(r"RULE:^(a)$/\$1\\/", "a").unwrap(), r"$1\");
    // Named groups.
    assert_eq!(
        name("RULE:^CN=(?P<cn>[^,]*).*$/${cn}/U", "CN=bob,O=x").unwrap(),
        "BOB"
    );
    // With no group at all, `$1` is an error, as in Java.
    assert!(matches!(
        name("RULE:^abc$/$1/", "abc"),
        Err(MappingError::InvalidReplacement { .. })
    ));
    // Two missing groups: Kafka inserts its escapes at the original string's
    // offsets, so the second lands one character early (`\$\7$8`) and Java
    // then fails on `$8`. The quirk is kept: an error, not "$7$8".
    assert!(matches!(
        name("RULE:^(a)$/$7$8/", "a"),
        Err(MappingError::InvalidReplacement { .. })
    ));
    assert_eq!(name("RULE:^(a)$/$7-/", "a").unwrap(), "$7-");
    // Non-ASCII names survive, and L lower-cases them.
    assert_eq!(name("RULE:^CN=(.*)$/$1/L", "CN=JÜRGEN").unwrap(), "jürgen");
}

#[test]
fn random_rules_and_names_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let alphabet: Vec<char> = "RULE:DEFAULT/\\$0123{}()[]^*+?.,LU =é\n".chars().collect();
    let random = |rng: &mut rand::rngs::StdRng, len: usize| -> String {
        (0..rng.random_range(0..len))
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect()
    };
    let mut parsed = 0;
    for _ in 0..3000 {
        let rules = if rng.random_bool(0.5) {
            random(&mut rng, 30)
        } else {
            format!(
                "RULE:{}/{}/{}",
                random(&mut rng, 8),
                random(&mut rng, 8),
                random(&mut rng, 2)
            )
        };
        if let Ok(mapper) = SslPrincipalMapper::from_rules(&rules) {
            parsed += 1;
            for _ in 0..3 {
                let _ = mapper.name_for(&random(&mut rng, 20));
            }
        }
    }
    assert!(
        parsed > 100,
        "the generator should produce valid rules too ({parsed})"
    );
}
