"""Staff complaint pages: the workbench, lists, detail, actions and exports."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):  # to be built (issue 3)
    return HttpResponse(status=501)


workbench = complaint_list = complaint_export = complaint_new = complaint_detail = _todo
complaint_action = complaint_note = attachment_upload = attachment_download = _todo
reveal_id_number = extension_approve = notification_list = _todo
