"""Create the [aws] part of seed.toml in a fresh moto: IAM, then sample data in parallel."""

from __future__ import annotations

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.credentials import Credentials

from .abac import uses_tags, widen

HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


def expand(value: Any, names: dict[str, str]) -> Any:
    """Replace {provider}, {client_id} and {account_id} in every string of a JSON-like value."""
    text = json.dumps(value)
    for name, replacement in names.items():
        text = text.replace("{" + name + "}", replacement)
    return json.loads(text)


def trust_policy(role: dict[str, Any], provider_arn: str, names: dict[str, str]) -> dict[str, Any]:
    """The trust policy of a seeded role: the IdP with conditions, or an AWS service."""
    if "trust_service" in role:
        principal: dict[str, Any] = {"Service": role["trust_service"]}
        statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    else:
        statement = {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "Condition": expand(role.get("trust", {}), names),
        }
    return {"Version": "2012-10-17", "Statement": [statement]}


def trust_provider(iam: Any, seed: dict[str, Any], url: str, client_id: str) -> str:
    """Create an IAM OIDC provider for another issuer; every web-identity role trusts it too.

    Each role gets one more trust statement, its seed conditions written for this provider
    ({provider} is url without its scheme, {client_id} this client). Returns the provider ARN.
    """
    arn = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[client_id], ThumbprintList=["0" * 40]
    )["OpenIDConnectProviderArn"]
    names = {
        "provider": url.split("://", 1)[1],
        "client_id": client_id,
        "account_id": seed["aws"]["account_id"],
    }
    for role in seed["aws"]["roles"]:
        if "trust_service" in role:
            continue
        document = iam.get_role(RoleName=role["name"])["Role"]["AssumeRolePolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        document["Statement"] += trust_policy(role, arn, names)["Statement"]
        iam.update_assume_role_policy(RoleName=role["name"], PolicyDocument=json.dumps(document))
    return str(arn)


def tag_policies(seed: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Role name -> inline policy statements, for the roles whose policy reads principal tags."""
    return {
        role["name"]: expand(role["statements"], {"account_id": account["account_id"]})
        for account in (seed["aws"], *seed["aws"].get("accounts", []))
        for role in account.get("roles", [])
        if uses_tags(role.get("statements", []))
    }


class Seeder:
    """Seeds one moto server over HTTP (before enforcement is on, so any keys will do)."""

    def __init__(self, moto_url: str, seed: dict[str, Any], issuer: str) -> None:
        self.aws = seed["aws"]
        self.account_id = self.aws["account_id"]
        self.issuer = issuer
        self.client_id = seed["tenant"]["client_id"]
        self.kw = {
            "endpoint_url": moto_url,
            "region_name": self.aws["region"],
            "aws_access_key_id": "devstack",
            "aws_secret_access_key": "devstack",
        }
        self.doctor_credentials: Credentials | None = None  # set by seed_iam when seeded

    def client(self, service: str, entry: dict[str, Any] | None = None) -> Any:
        """A client of this seeder's account (moto picks the account from x-moto-account-id), in
        the entry's region (its "region" key), else in [aws] region."""
        region = (entry or {}).get("region", self.aws["region"])
        client = boto3.client(service, **{**self.kw, "region_name": region})
        account = self.account_id

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", add_header)
        return client

    def seed(self) -> Credentials:
        """Create everything; return the keys of the front's IAM user."""
        credentials = self.seed_iam()
        jobs = (
            self.seed_s3, self.seed_dynamodb, self.seed_lambda, self.seed_sqs, self.seed_ec2,
            self.seed_rds, self.seed_logs,
        )  # fmt: skip
        with ThreadPoolExecutor(len(jobs)) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()
        return credentials

    def seed_iam(self) -> Credentials:
        """OIDC provider, roles with their inline policies, the front's and the doctor's users."""
        iam = self.client("iam")
        provider_arn = iam.create_open_id_connect_provider(
            Url=self.issuer, ClientIDList=[self.client_id], ThumbprintList=["0" * 40]
        )["OpenIDConnectProviderArn"]
        names = {
            "provider": self.issuer.split("://", 1)[1],
            "client_id": self.client_id,
            "account_id": self.account_id,
        }
        for role in self.aws["roles"]:
            iam.create_role(
                RoleName=role["name"],
                AssumeRolePolicyDocument=json.dumps(trust_policy(role, provider_arn, names)),
                MaxSessionDuration=role.get("max_session_duration", 3600),
            )
            if role.get("statements"):
                # moto cannot evaluate ${aws:PrincipalTag/…}: it gets the widened statements
                # and the front evaluates the real ones (devstack/aws/abac.py).
                statements = expand(role["statements"], names)
                document = {"Version": "2012-10-17", "Statement": widen(statements)}
                iam.put_role_policy(
                    RoleName=role["name"], PolicyName="portal", PolicyDocument=json.dumps(document)
                )
        if "doctor_user" in self.aws:
            self.doctor_credentials = _create_user(iam, self.aws["doctor_user"], "doctor")
        return _create_user(iam, self.aws["front_user"], "front")

    def seed_s3(self) -> None:
        """Buckets and objects; the big bucket goes straight into moto's backend (HTTP is ~5 s)."""
        from moto.s3.models import s3_backends

        backend = s3_backends[self.account_id]["aws"]
        for bucket in self.aws.get("buckets", []):
            s3, region = self.client("s3", bucket), bucket.get("region", self.aws["region"])
            # us-east-1 is the one region S3 refuses as a LocationConstraint.
            where = {"LocationConstraint": region} if region != "us-east-1" else None
            s3.create_bucket(Bucket=bucket["name"], **_configuration(where))
            keys = list(bucket.get("keys", []))
            if "generate" in bucket:
                prefixes = bucket["generate"]["prefixes"]
                count = bucket["generate"]["count"]
                keys += [f"{prefixes[i % len(prefixes)]}item-{i:05d}.txt" for i in range(count)]
            for key in keys:
                body = f"{bucket['name']}/{key}: devstack sample object\n".encode()
                backend.put_object(bucket["name"], key, body)

    def seed_dynamodb(self) -> None:
        """Tables with a string hash key and a few items."""
        for table in self.aws.get("tables", []):
            ddb = self.client("dynamodb", table)
            ddb.create_table(
                TableName=table["name"],
                KeySchema=[{"AttributeName": table["key"], "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": table["key"], "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            for item in table["items"]:
                ddb.put_item(TableName=table["name"], Item={k: _attr(v) for k, v in item.items()})

    def seed_lambda(self) -> None:
        """Tiny zip functions: creating them needs no Docker, only invoking would."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", HANDLER)
        for function in self.aws.get("functions", []):
            self.client("lambda", function).create_function(
                FunctionName=function["name"],
                Description=function.get("description", ""),
                Runtime="python3.12",
                Role=f"arn:aws:iam::{self.account_id}:role/portal-lambda-exec",
                Handler="handler.handler",
                Code={"ZipFile": buffer.getvalue()},
            )

    def seed_sqs(self) -> None:
        """Queues holding a few messages."""
        for queue in self.aws.get("queues", []):
            sqs = self.client("sqs", queue)
            url = sqs.create_queue(QueueName=queue["name"])["QueueUrl"]
            for message in queue["messages"]:
                sqs.send_message(QueueUrl=url, MessageBody=message)

    def seed_ec2(self) -> None:
        """Instances with Name tags: names in [aws] region, regions.<region> elsewhere."""
        spec = self.aws.get("instances", {"names": []})
        names = [(name, None) for name in spec["names"]] + [
            (name, region) for region, more in spec.get("regions", {}).items() for name in more
        ]
        for name, region in names:
            self.client("ec2", {"region": region} if region else None).run_instances(
                ImageId=spec["image_id"],
                InstanceType=spec["instance_type"],
                MinCount=1,
                MaxCount=1,
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
                ],
            )

    def seed_rds(self) -> None:
        """DB instances (moto creates them at once, no engine runs)."""
        for db in self.aws.get("db_instances", []):
            self.client("rds", db).create_db_instance(
                DBInstanceIdentifier=db["name"],
                Engine=db["engine"],
                DBInstanceClass=db["class"],
                AllocatedStorage=20,
                MasterUsername="devstack",
                MasterUserPassword="devstack-password",
            )

    def seed_logs(self) -> None:
        """CloudWatch log groups, with a retention where the seed gives one."""
        for group in self.aws.get("log_groups", []):
            logs = self.client("logs", group)
            logs.create_log_group(logGroupName=group["name"])
            if "retention_days" in group:
                logs.put_retention_policy(
                    logGroupName=group["name"], retentionInDays=group["retention_days"]
                )


def _create_user(iam: Any, user: dict[str, Any], policy_name: str) -> Credentials:
    """An IAM user allowed user["actions"] on everything; returns its access key."""
    iam.create_user(UserName=user["name"])
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": user["actions"], "Resource": "*"}
    ]}  # fmt: skip
    iam.put_user_policy(
        UserName=user["name"], PolicyName=policy_name, PolicyDocument=json.dumps(document)
    )
    key = iam.create_access_key(UserName=user["name"])["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _configuration(where: dict[str, str] | None) -> dict[str, Any]:
    return {"CreateBucketConfiguration": where} if where else {}


def _attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    return {"S": str(value)}
