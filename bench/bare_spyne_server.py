"""Baseline for bench_soap_sessions.py: a bare spyne service answering QBWC's calls with constants."""
from __future__ import annotations

import sys

import waitress
from spyne import Application, Array, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

MESSAGE_SET = '<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError"><TermsQueryRq requestID="1.1" /></QBXMLMsgsRq></QBXML>'


class Bare(ServiceBase):
    @rpc(_returns=Unicode)
    def serverVersion(ctx):
        return "bare"

    @rpc(Unicode, _returns=Unicode)
    def clientVersion(ctx, strVersion):
        return ""

    @rpc(Unicode, Unicode, _returns=Array(Unicode, type_name="ArrayOfString"))
    def authenticate(ctx, strUserName, strPassword):
        return ["ticket", "none" if strUserName == "idle" else ""]

    @rpc(Unicode, Unicode, Unicode, Unicode, Integer, Integer, _returns=Unicode)
    def sendRequestXML(ctx, ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers):
        return MESSAGE_SET

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer)
    def receiveResponseXML(ctx, ticket, response, hresult, message):
        return 100

    @rpc(Unicode, _returns=Unicode)
    def closeConnection(ctx, ticket):
        return "OK"


app = WsgiApplication(Application([Bare], tns="http://developer.intuit.com/", name="QBWebConnectorSvc",
                                  in_protocol=Soap11(), out_protocol=Soap11()))

if __name__ == "__main__":
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
