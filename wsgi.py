"""What gunicorn serves: the app from the environment, its issuer checked against the IdP's."""

from webapp import create_app

app = create_app(check_issuer=True)
