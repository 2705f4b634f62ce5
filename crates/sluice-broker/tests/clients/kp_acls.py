"""CreateAcls, DescribeAcls and DeleteAcls through kafka-python's admin client over mutual TLS.

usage: kp_acls.py BOOTSTRAP CA_FILE CERT_FILE KEY_FILE
Prints "ok"; exits non-zero (with a message) on any difference.
"""
import sys

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

bootstrap, ca, cert, key = sys.argv[1:5]
admin = KafkaAdminClient(
    bootstrap_servers=bootstrap,
    security_protocol="SSL",
    ssl_cafile=ca,
    ssl_certfile=cert,
    ssl_keyfile=key,
    request_timeout_ms=20000,
)

read_prefixed = ACL(
    principal="User:bob",
    host="*",
    operation=ACLOperation.READ,
    permission_type=ACLPermissionType.ALLOW,
    resource_pattern=ResourcePattern(ResourceType.TOPIC, "bob-", ACLResourcePatternType.PREFIXED),
)
deny_write = ACL(
    principal="User:bob",
    host="*",
    operation=ACLOperation.WRITE,
    permission_type=ACLPermissionType.DENY,
    resource_pattern=ResourcePattern(ResourceType.TOPIC, "bob-secret", ACLResourcePatternType.LITERAL),
)
created = admin.create_acls([read_prefixed, deny_write])
assert not created["failed"], created
assert len(created["succeeded"]) == 2, created


def bobs(operation=ACLOperation.ANY):
    return ACLFilter(
        principal="User:bob",
        host=None,
        operation=operation,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


acls, error = admin.describe_acls(bobs())
assert error.errno == 0, error
found = sorted((a.resource_pattern.resource_name, a.operation, a.permission_type) for a in acls)
assert found == sorted(
    [
        ("bob-", ACLOperation.READ, ACLPermissionType.ALLOW),
        ("bob-secret", ACLOperation.WRITE, ACLPermissionType.DENY),
    ]
), found

deleted = admin.delete_acls([bobs(ACLOperation.WRITE)])
(_, matching, error) = deleted[0]
assert error.errno == 0, error
# (acl, error) pairs in some kafka-python versions, ACLs in others.
names = [(m[0] if isinstance(m, tuple) else m).resource_pattern.resource_name for m in matching]
assert names == ["bob-secret"], matching

acls, error = admin.describe_acls(bobs())
assert [a.resource_pattern.resource_name for a in acls] == ["bob-"], acls
admin.close()
print("ok")
