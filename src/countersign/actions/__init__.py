"""Custom actions: named calls to the customer's API, made through Countersign so that
the API learns who the user is only when Countersign verified it.

- :mod:`.schema` -- the JSON Schema of an action's parameters;
- :mod:`.payload` -- the request body, and the rule about identities;
- :mod:`.invoke` -- one call, signed, guarded and classified.
"""

from .invoke import OUTCOMES as OUTCOMES
from .invoke import ActionTarget as ActionTarget
from .invoke import CallResult as CallResult
from .invoke import invoke as invoke
from .payload import Caller as Caller
from .payload import VerifiedUser as VerifiedUser
from .payload import request_body as request_body
from .schema import DEFAULT_SCHEMA as DEFAULT_SCHEMA
from .schema import InvalidSchema as InvalidSchema
from .schema import ParameterError as ParameterError
from .schema import check_parameters_schema as check_parameters_schema
