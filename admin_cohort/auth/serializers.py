from rest_framework import serializers

from admin_cohort.serializers import UserSerializer


class CredentialsLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class OidcLoginSerializer(serializers.Serializer):
    auth_code = serializers.CharField(required=False)
    redirect_uri = serializers.CharField(required=False, allow_blank=True)


class LoginResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    last_login = serializers.DateTimeField()
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()


class RefreshSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=8192)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()


class LogoutSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=8192)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
