"""The route table (lab/api/routes.py) and the endpoint list the schema validates (schema.ENDPOINTS) agree."""
from lab.api import routes, schema


def test_the_route_table_serves_exactly_the_schemas_endpoints():
    served = [(r.method, r.template) for r in routes.ROUTES]
    assert len(served) == len(set(served)), "an endpoint is routed twice"
    assert set(served) - set(schema.ENDPOINTS) == set(), "routed, but not in schema.ENDPOINTS"
    assert set(schema.ENDPOINTS) - set(served) == set(), "in schema.ENDPOINTS, but not routed"


def test_a_path_finds_its_own_route_and_its_parameters():
    for route in routes.ROUTES:
        path = route.template.replace("{", "").replace("}", "")  # /cluster/ha/groups/group
        found, params = routes.match(route.method, path)
        assert found is route
        assert params == {k: k for k in route.regex.groupindex}
    assert routes.match("GET", "/access/users/a%40b/token")[1] == {"userid": "a@b"}
    assert routes.match("PATCH", "/version") is None and routes.match("GET", "/nodes/pve1/ceph") is None
