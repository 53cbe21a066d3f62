"""Create the [aws] part of seed.toml in a fresh moto: IAM, then sample data in parallel."""

from __future__ import annotations

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.credentials import Credentials

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

    def client(self, service: str) -> Any:
        """A client of this seeder's account: moto picks the account from x-moto-account-id."""
        client = boto3.client(service, **self.kw)
        account = self.account_id

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", add_header)
        return client

    def seed(self) -> Credentials:
        """Create everything; return the keys of the front's IAM user."""
        credentials = self.seed_iam()
        jobs = (self.seed_s3, self.seed_dynamodb, self.seed_lambda, self.seed_sqs, self.seed_ec2)
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
                document = {"Version": "2012-10-17", "Statement": expand(role["statements"], names)}
                iam.put_role_policy(
                    RoleName=role["name"], PolicyName="portal", PolicyDocument=json.dumps(document)
                )
        if "doctor_user" in self.aws:
            self.doctor_credentials = _create_user(iam, self.aws["doctor_user"], "doctor")
        return _create_user(iam, self.aws["front_user"], "front")

    def seed_s3(self) -> None:
        """Buckets and objects; the big bucket goes straight into moto's backend (HTTP is ~5 s)."""
        from moto.s3.models import s3_backends

        s3 = self.client("s3")
        backend = s3_backends[self.account_id]["aws"]
        for bucket in self.aws.get("buckets", []):
            s3.create_bucket(Bucket=bucket["name"])
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
        ddb = self.client("dynamodb")
        for table in self.aws.get("tables", []):
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
        client = self.client("lambda")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", HANDLER)
        for function in self.aws.get("functions", []):
            client.create_function(
                FunctionName=function["name"],
                Description=function.get("description", ""),
                Runtime="python3.12",
                Role=f"arn:aws:iam::{self.account_id}:role/portal-lambda-exec",
                Handler="handler.handler",
                Code={"ZipFile": buffer.getvalue()},
            )

    def seed_sqs(self) -> None:
        """Queues holding a few messages."""
        sqs = self.client("sqs")
        for queue in self.aws.get("queues", []):
            url = sqs.create_queue(QueueName=queue["name"])["QueueUrl"]
            for message in queue["messages"]:
                sqs.send_message(QueueUrl=url, MessageBody=message)

    def seed_ec2(self) -> None:
        """Instances with Name tags."""
        ec2 = self.client("ec2")
        spec = self.aws.get("instances", {"names": []})
        for name in spec["names"]:
            ec2.run_instances(
                ImageId=spec["image_id"],
                InstanceType=spec["instance_type"],
                MinCount=1,
                MaxCount=1,
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
                ],
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


def _attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    return {"S": str(value)}
