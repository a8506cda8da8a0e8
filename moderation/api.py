"""HTTP interface of moderation: the guest puzzle, reports, blocks, and staff's room tools."""

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api as accounts_api
from accounts.api import AuthenticatedRequest
from accounts.serializers import SessionSerializer, UserSerializer, session_data, user_data
from accounts.services import guest_create, tokens_for_user
from chatsite.foundation.addresses import address_from_meta
from chatsite.foundation.codes import Code
from chatsite.foundation.errors import Forbidden
from chatsite.foundation.serializers import ErrorSerializer, Timestamp
from chatsite.foundation.wire import iso
from messaging.serializers import RoomSerializer, room_data_for
from moderation import actions
from moderation.challenges import challenge_issue, challenge_redeem
from moderation.models import Report
from moderation.selectors import address_banned, users_blocked_by
from moderation.services import guest_origin_record


class ChallengeSerializer(serializers.Serializer[Any]):
    challenge = serializers.CharField()
    bits = serializers.IntegerField(help_text="Leading zero bits of SHA-256(challenge:nonce).")


class ChallengeApi(APIView):
    """``GET /api/auth/challenge/``: a proof-of-work puzzle for a new guest."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(responses={200: ChallengeSerializer})
    def get(self, request: Request) -> Response:
        challenge = challenge_issue(address=address_from_meta(request.META))
        return Response({"challenge": challenge.challenge, "bits": challenge.bits})


class PowRequiredSerializer(ErrorSerializer):
    """400 ``pow_required``: the error object with a fresh puzzle."""

    challenge = serializers.CharField()
    bits = serializers.IntegerField()


class GuestMintSerializer(serializers.Serializer[Any]):
    challenge = serializers.CharField(required=False, max_length=200)
    nonce = serializers.CharField(required=False, max_length=64)


class GuestCreateApi(accounts_api.GuestCreateApi):
    """``POST /api/auth/guest/``: accounts' guest minting (its per-address throttle kept),
    behind a solved challenge and the address bans."""

    @extend_schema(
        request=GuestMintSerializer,
        responses={
            201: SessionSerializer,
            400: PowRequiredSerializer,
            403: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        address = address_from_meta(request.META)
        if address_banned(address=address):
            error = Forbidden(gettext("This address may not create new guests for now."))
            error.code = Code.BANNED
            raise error
        data = request.data if isinstance(request.data, dict) else {}
        challenge_redeem(address=address, challenge=data.get("challenge"), nonce=data.get("nonce"))
        user = guest_create()
        guest_origin_record(user=user, address=address)
        return Response(
            session_data(user=user, tokens=tokens_for_user(user=user)),
            status=status.HTTP_201_CREATED,
        )


class ReportInputSerializer(serializers.Serializer[Any]):
    message = serializers.IntegerField(required=False, min_value=0)
    user = serializers.IntegerField(required=False, min_value=0)
    room = serializers.IntegerField(required=False, min_value=0)
    reason = serializers.ChoiceField(choices=Report.REASONS)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReportOutputSerializer(serializers.Serializer[Report]):
    id = serializers.IntegerField()
    status = serializers.CharField()


class ReportCreateApi(APIView):
    @extend_schema(
        request=ReportInputSerializer,
        responses={
            201: ReportOutputSerializer,
            200: ReportOutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        report, created = actions.report_create(
            reporter=request.user,
            reason=fields["reason"],
            note=fields.get("note", ""),
            message_id=fields.get("message"),
            user_id=fields.get("user"),
            room_id=fields.get("room"),
        )
        return Response(
            {"id": report.id, "status": report.status},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class BlockInputSerializer(serializers.Serializer[Any]):
    user = serializers.IntegerField(min_value=0)


class BlockListApi(APIView):
    @extend_schema(operation_id="blocks_list", responses={200: UserSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response([user_data(user) for user in users_blocked_by(user=request.user)])

    @extend_schema(
        request=BlockInputSerializer,
        responses={201: UserSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = BlockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        blocked, _ = actions.block_create(
            blocker=request.user, blocked_id=data.validated_data["user"]
        )
        return Response(user_data(blocked), status=status.HTTP_201_CREATED)


class BlockDetailApi(APIView):
    @extend_schema(responses={204: OpenApiResponse(description="Unblocked."), 404: ErrorSerializer})
    def delete(self, request: AuthenticatedRequest, user_id: int) -> Response:
        actions.block_delete(blocker=request.user, blocked_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- staff: the room page's message menu ----------------------------------------------------


class MuteInputSerializer(serializers.Serializer[Any]):
    user = serializers.IntegerField(min_value=0)
    seconds = serializers.IntegerField(min_value=1, max_value=366 * 86400)


class MuteOutputSerializer(serializers.Serializer[Any]):
    room = serializers.IntegerField()
    user = serializers.IntegerField()
    until = Timestamp()


class RoomMuteApi(APIView):
    """Staff: mute a user in the room for ``seconds`` (``muted`` on their sends)."""

    @extend_schema(
        request=MuteInputSerializer,
        responses={201: MuteOutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request: AuthenticatedRequest, room_id: int) -> Response:
        data = MuteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mute = actions.staff_mute(
            room_id=room_id,
            user_id=data.validated_data["user"],
            seconds=data.validated_data["seconds"],
            by=request.user,
        )
        body = {"room": mute.room_id, "user": mute.user_id, "until": iso(mute.until)}
        return Response(body, status=status.HTTP_201_CREATED)


class RoomMuteDetailApi(APIView):
    @extend_schema(responses={204: OpenApiResponse(description="Unmuted."), 404: ErrorSerializer})
    def delete(self, request: AuthenticatedRequest, room_id: int, user_id: int) -> Response:
        actions.staff_unmute(room_id=room_id, user_id=user_id, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomKickApi(APIView):
    """Staff: the user's connections leave the room (``left``, ``kicked``); muted 10 min."""

    @extend_schema(
        request=BlockInputSerializer,
        responses={204: OpenApiResponse(description="Kicked."), 404: ErrorSerializer},
    )
    def post(self, request: AuthenticatedRequest, room_id: int) -> Response:
        data = BlockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.staff_kick(room_id=room_id, user_id=data.validated_data["user"], by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SlowModeInputSerializer(serializers.Serializer[Any]):
    seconds = serializers.IntegerField(min_value=0)


class RoomSlowModeApi(APIView):
    """Staff: set the room's slow mode (0: off); joined connections get a ``room`` frame."""

    @extend_schema(
        request=SlowModeInputSerializer,
        responses={200: RoomSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def put(self, request: AuthenticatedRequest, room_id: int) -> Response:
        data = SlowModeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.room_slow_mode_set(
            room_id=room_id, seconds=data.validated_data["seconds"], by=request.user
        )
        return Response(room_data_for(room_id=room_id, user=request.user))
